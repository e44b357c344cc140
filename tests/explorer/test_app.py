"""The served explorer, through gradio's own client and a headless Chromium.

``served`` (conftest.py) starts ``brnpa explore`` on the tiny model on
127.0.0.1 and stops it afterwards. What the page returns is compared with
the same computation done here, offline, by :mod:`.session`.
"""
import os
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from brnpa_plugins.data import synthetic
from brnpa_plugins.explorer import session

CHROMIUM = '/usr/bin/chromium'
#: Outputs of the view handlers, in the order app.py lists them.
(SCENE, PREDICTION, TOP5, MAPS, CONTRIBUTIONS, SCORES, OBJECTS, MODEL,
 MESSAGE) = range(9)


@pytest.fixture(scope='module')
def client(served):
    gradio_client = pytest.importorskip('gradio_client')
    return gradio_client.Client(served, verbose=False)


@pytest.fixture(scope='module')
def offline(loaded):
    return session.Explorer(loaded)


def read(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert('RGB'))


def top5(label: dict) -> dict:
    return {c['label']: c['confidence'] for c in label['confidences']}


def test_sample_then_intervention_as_offline(client, offline):
    name = list(offline.samples)[3]
    shown = client.predict(name, api_name='/sample')
    expected = offline.sample(name)
    assert shown[MESSAGE] == ''
    np.testing.assert_array_equal(read(shown[MAPS]),
                                  np.asarray(expected.explanation.figure))
    np.testing.assert_array_equal(read(shown[SCENE]), expected.display)
    assert shown[PREDICTION].split(' in ')[0] == \
        expected.prediction.split(' in ')[0]
    assert top5(shown[TOP5]) == pytest.approx(expected.top5, rel=1e-6)
    assert shown[CONTRIBUTIONS]['data'] == expected.contributions
    assert 'BR-NPA top map' in shown[SCORES]
    choices = [choice for choice, _ in shown[OBJECTS]['choices']]
    assert choices == expected.objects
    # remove the first object: the page's model and an offline re-render
    changed = client.predict(choices[0], 'remove', api_name='/intervene')
    scene = synthetic.intervene(expected.current.scene, 0)
    rendered = synthetic.render_scene(scene, session.BENCHMARK)
    [offline_result] = offline.loaded.inferencer(
        np.ascontiguousarray(rendered[..., ::-1]))
    probabilities = dict(zip(offline.loaded.classes,
                             offline_result['pred_scores'].tolist()))
    for label, probability in top5(changed[TOP5]).items():
        assert probability == pytest.approx(probabilities[label], rel=1e-5)
    assert top5(changed[TOP5]) != top5(shown[TOP5])
    assert changed[PREDICTION] != shown[PREDICTION]
    assert len(changed[OBJECTS]['choices']) == len(choices) - 1


def test_upload_occlusion_and_errors_keep_the_app_running(client, offline,
                                                          tmp_path):
    from gradio_client import handle_file
    rng = np.random.default_rng(1)
    picture = rng.integers(0, 256, (80, 64, 3), dtype=np.uint8)
    path = tmp_path / 'picture.png'
    Image.fromarray(picture).save(path)
    shown = client.predict(handle_file(str(path)), api_name='/upload')
    expected = offline.upload(picture)
    assert shown[MESSAGE] == ''
    np.testing.assert_array_equal(read(shown[MAPS]),
                                  np.asarray(expected.explanation.figure))
    assert shown[SCORES] == '' and shown[OBJECTS]['choices'] == []
    occluded = client.predict('8, 8, 40, 48', 'grey', api_name='/occlude')
    offline_occluded = offline.occlude(expected.current, '8, 8, 40, 48',
                                       'grey')
    np.testing.assert_array_equal(
        read(occluded[MAPS]), np.asarray(offline_occluded.explanation.figure))
    assert occluded[PREDICTION] != shown[PREDICTION]
    # an image that cannot be decoded: a message, nothing else changes
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'not an image at all')
    refused = client.predict(handle_file(str(broken)), api_name='/upload')
    assert refused[MESSAGE].startswith('**Error:** cannot decode')
    # a config that does not build, and a zoo model without weights
    bad = tmp_path / 'bad.py'
    bad.write_text("model = dict(type='NoSuchClassifier')\n")
    line, _, message = client.predict(None, str(bad), '', api_name='/load')
    assert 'config without weights' in message
    line, _, message = client.predict(None, str(bad), str(path),
                                      api_name='/load')
    assert 'could not build a model' in message
    line, _, message = client.predict(None, 'brnpa-lowres_resnet50_8xb12_cub',
                                      '', api_name='/load')
    assert 'has no checkpoint published' in message
    # still serving the tiny model
    again = client.predict(list(offline.samples)[0], api_name='/sample')
    assert again[MESSAGE] == '' and 'tiny_brnpa.py' in again[MODEL]


def test_a_registered_method_beside_the_maps(client, offline):
    name = list(offline.samples)[1]
    client.predict(name, api_name='/sample')
    figure, text = client.predict('rise', 100, api_name='/method')
    assert text.startswith('rise: ') and 'pointing' in text
    expected = offline.sample(name)
    _, offline_figure, _ = session.method_map(
        offline.loaded, expected.explanation, 'rise', dict(num_masks=100))
    np.testing.assert_array_equal(read(figure), np.asarray(offline_figure))


def test_the_page_in_a_real_browser(served, offline, tmp_path):
    sync_api = pytest.importorskip(
        'playwright.sync_api', reason='playwright is not installed: pip '
        'install playwright (no browser download: Chromium comes from the '
        'system)')
    browser_path = os.environ.get('BRNPA_CHROMIUM', CHROMIUM)
    if not (os.path.isfile(browser_path) or shutil.which(browser_path)):
        pytest.skip(f'no Chromium at {browser_path}: apt-get install -y '
                    'chromium (or set BRNPA_CHROMIUM)')
    name = list(offline.samples)[2]
    scene = offline.samples[name]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=browser_path, headless=True,
            args=['--no-sandbox'])
        try:
            page = browser.new_page(viewport={'width': 1400, 'height': 1500})
            page.goto(served, timeout=60000)
            page.locator('#sample input').click()
            page.get_by_role('option', name=name, exact=True).click()
            maps = page.locator('#maps img')
            maps.wait_for(timeout=30000)
            prediction = page.locator('#prediction')
            sync_api.expect(prediction).to_contain_text('Prediction: ')
            before = prediction.inner_text()
            # click the middle of object 0 on the displayed scene
            image = page.locator('#scene img')
            box = image.bounding_box()
            natural = image.evaluate('i => [i.naturalWidth, i.naturalHeight]')
            x0, y0, x1, y1 = scene.objects[0].box(session.BENCHMARK)
            scale = session.display_scale((96, 96))
            page.mouse.click(
                box['x'] + (x0 + x1) / 2 * scale * box['width'] / natural[0],
                box['y'] + (y0 + y1) / 2 * scale * box['height'] / natural[1])
            sync_api.expect(page.locator('#object input')).to_have_value(
                session.object_choices(scene)[0], timeout=15000)
            page.locator('#apply').click()
            sync_api.expect(prediction).to_contain_text('after remove',
                                                        timeout=30000)
            after = prediction.inner_text()
            assert after.split(' in ')[0] != before.split(' in ')[0]
            assert maps.get_attribute('src')
            # Stop: a long RISE run is stopped, nothing is drawn, and the
            # next run goes through
            status = page.locator('#method-status')
            method_map = page.locator('#method-map img')
            page.locator('#masks input[type=number]').fill('2000')
            page.locator('#masks input[type=number]').press('Enter')
            page.locator('#run').click()
            page.wait_for_timeout(300)  # the run has started (it takes ~2 s)
            page.locator('#stop').click()
            # the Stop handler's note, or the run's own when it reached its
            # next forward pass first
            stopped = re.compile(r'stopping\.\.\.|stopped before it finished')
            sync_api.expect(status).to_contain_text(stopped, timeout=15000)
            page.wait_for_timeout(8000)  # longer than the full run takes
            assert method_map.count() == 0
            assert stopped.search(status.inner_text())
            page.locator('#masks input[type=number]').fill('50')
            page.locator('#masks input[type=number]').press('Enter')
            page.locator('#run').click()
            method_map.wait_for(timeout=60000)
            sync_api.expect(status).not_to_contain_text('stopping')
            page.screenshot(path=str(tmp_path / 'explorer.png'),
                            full_page=True)
        finally:
            browser.close()
    assert (tmp_path / 'explorer.png').stat().st_size > 10000


def test_brnpa_explore_arguments_and_a_model_that_fails(tiny_model, capsys,
                                                        tmp_path):
    from brnpa_plugins.cli import build_parser, main
    args = build_parser().parse_args(['explore'])
    assert (args.model, args.checkpoint, args.port, args.host) == (
        None, None, 7860, '127.0.0.1')
    args = build_parser().parse_args(
        ['explore', 'a.py', '--checkpoint', 'a.pth', '--port', '9000',
         '--host', '0.0.0.0'])
    assert (args.model, args.checkpoint, args.port, args.host) == (
        'a.py', 'a.pth', 9000, '0.0.0.0')
    broken = tmp_path / 'broken.py'
    broken.write_text("model = dict(type='NoSuchClassifier')\n")
    assert main(['explore', str(broken), '--checkpoint', tiny_model[1],
                 '--port', '1']) == 1
    assert 'brnpa: error: could not build a model from' in \
        capsys.readouterr().err


def test_brnpa_explore_without_arguments_serves_the_shipped_model(
        tmp_path, port, page_waiter):
    """The README's command as a user types it: the `brnpa` entry point,
    no model named, in its own process; the page answers with the shipped
    demo model, trained, and explains a benchmark sample."""
    import subprocess
    import sys
    gradio_client = pytest.importorskip('gradio_client')
    command = [os.path.join(os.path.dirname(sys.executable), 'brnpa'),
               'explore', '--port', str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               cwd=str(tmp_path))
    url = f'http://127.0.0.1:{port}/'
    try:
        page_waiter(url, process)
        client = gradio_client.Client(url, verbose=False)
        name = list(session.benchmark_samples())[0]
        shown = client.predict(name, api_name='/sample')
        assert shown[MESSAGE] == ''
        assert shown[PREDICTION].startswith('Prediction: ')
        assert '(UNTRAINED model)' not in shown[PREDICTION]
        assert f'{session.DEMO_MODEL} (trained' in shown[MODEL]
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert f'BR-NPA part explorer on {url.rstrip("/")}' in output
    assert session.DEMO_MODEL in output
