"""The explorer's page: gradio components wired to :mod:`.session`.

    brnpa explore [MODEL_OR_CONFIG] [--checkpoint PATH] [--port 7860]
        [--host 127.0.0.1]

Nothing is computed here: every handler calls an :class:`Explorer` method
and puts what it returns into the components. An :class:`ExplorerError`
becomes the message line of the page and leaves everything else as it
was, so the app keeps running.
"""
import functools
import os
import traceback
from typing import Optional

from .session import (ACTIONS, OCCLUSIONS, RISE_MASKS, Explorer,
                      ExplorerError, View, load_model, method_names,
                      select_at, zoo_models)

# The page is local: gradio sends no usage statistics from it.
os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')

INSTALL = 'pip install "brnpa-plugins[explorer]"'
INTRO = (
    '# BR-NPA part explorer\n'
    'Pick a sample of the generated benchmark (decisive parts outlined in '
    'solid green, distractors dashed grey) or upload an image. Click an '
    "object of a sample to select it, then remove it or demote it (its rim "
    'goes): the scene is re-rendered and the model runs again. On an upload, '
    'click two opposite corners of a box, then blur or grey it. Each part '
    "map is labelled with the part's exact contribution to the predicted "
    "class's logit (the contributions sum to the logit).")


def _gradio():
    try:
        import gradio
    except ImportError:
        raise ExplorerError(f'the explorer needs gradio: {INSTALL}') from None
    return gradio


def build_app(explorer: Explorer):
    """The gradio ``Blocks`` of the explorer around ``explorer``."""
    gr = _gradio()

    def message(error: Exception) -> str:
        return f'**Error:** {error}'

    def guarded(outputs: int):
        """Run a handler; on an ExplorerError show its message and leave
        the other ``outputs - 1`` components as they are."""
        def wrap(handler):
            @functools.wraps(handler)
            def run(*args, **kwargs):
                try:
                    return handler(*args, **kwargs)
                except ExplorerError as error:
                    text = message(error)
                except Exception as error:  # noqa: BLE001  (keep serving)
                    traceback.print_exc()
                    text = message(f'{type(error).__name__}: {error} (a bug '
                                   'of the explorer; the traceback is in '
                                   'the terminal)')
                return (*[gr.skip()] * (outputs - 1), text)
            return run
        return wrap

    with gr.Blocks(title='BR-NPA part explorer') as app:
        current = gr.State(None)
        gr.Markdown(INTRO)
        model_line = gr.Markdown(explorer.model_line(), elem_id='model-line')
        status = gr.Markdown('', elem_id='message')
        with gr.Row():
            with gr.Column(scale=2):
                with gr.Accordion('Model', open=False):
                    zoo = gr.Dropdown(zoo_models(), value=None,
                                      label='zoo model (entries with weights)')
                    config = gr.Textbox(label='or a config file (or any '
                                        'zoo name)')
                    checkpoint = gr.Textbox(label='its checkpoint')
                    load = gr.Button('Load model')
                sample = gr.Dropdown(list(explorer.samples), value=None,
                                     label='benchmark sample',
                                     elem_id='sample')
                upload = gr.File(label='or upload an image', type='filepath',
                                 elem_id='upload', height=120)
                scene = gr.Image(label='input: click an object, or two '
                                 'corners of a box', interactive=False,
                                 elem_id='scene', format='png')
                with gr.Row():
                    chosen = gr.Dropdown([], value=None, label='object',
                                         elem_id='object')
                    action = gr.Radio(list(ACTIONS), value='remove',
                                      label='action')
                apply = gr.Button('Apply to the object', elem_id='apply')
                with gr.Row():
                    box = gr.Textbox(label='box x0, y0, x1, y1 (pixels)',
                                     elem_id='box')
                    mode = gr.Radio(list(OCCLUSIONS), value='blur',
                                    label='occlusion')
                occlude = gr.Button('Occlude the box', elem_id='occlude')
                reset = gr.Button('Back to the original image')
            with gr.Column(scale=3):
                prediction = gr.Markdown('', elem_id='prediction')
                top5 = gr.Label(num_top_classes=5, label='top-5')
                contributions = gr.Dataframe(
                    headers=['rank', 'activity', 'logit contribution'],
                    label='parts: activity and contribution to the '
                    'predicted class', interactive=False)
                scores = gr.Markdown('')
        gr.Markdown('**Ranked part maps**, on one colour scale: the image, '
                    'the overlay (ranks 1-3 as R, G, B), each part (its '
                    'activity and its contribution to the logit), the colour '
                    'bar.')
        maps = gr.Image(show_label=False, interactive=False, elem_id='maps',
                        format='png')
        with gr.Row():
            method = gr.Dropdown(method_names(), value='rise',
                                 label='saliency method (any registered; '
                                 'its map is shown min-max normalised)')
            masks = gr.Slider(50, 2000, value=RISE_MASKS, step=50,
                              label='RISE masks', elem_id='masks')
            run = gr.Button('Run the method', elem_id='run')
            stop = gr.Button('Stop', elem_id='stop')
        method_status = gr.Markdown('', elem_id='method-status')
        method_map = gr.Image(show_label=False, interactive=False,
                              elem_id='method-map', format='png')

        shown = [current, scene, prediction, top5, maps, contributions,
                 scores, chosen, model_line, status]

        def show(view: View):
            return (view.current, view.display, view.prediction, view.top5,
                    view.explanation.figure, view.contributions, view.scores,
                    gr.update(choices=view.objects, value=None),
                    view.model_line, '')

        @guarded(len(shown))
        def pick_sample(name):
            if not name:  # the list was cleared (a new model)
                return (gr.skip(), ) * len(shown)
            return show(explorer.sample(name))

        @guarded(len(shown))
        def pick_upload(path):
            if not path:
                raise ExplorerError('the upload is empty.')
            return show(explorer.upload(path, os.path.basename(path)))

        @guarded(len(shown))
        def apply_action(state, label, how):
            if not label:
                raise ExplorerError('select an object first (click it, or '
                                    'pick it in the list).')
            return show(explorer.intervene(state, int(label.split(':')[0]),
                                           how))

        @guarded(len(shown))
        def apply_occlusion(state, corners, how):
            return show(explorer.occlude(state, corners, how))

        @guarded(len(shown))
        def back(state):
            return show(explorer.reset(state))

        @guarded(3)
        def click(state, corners, evt: gr.SelectData):
            choice, corners = select_at(state, *evt.index, corners)
            return gr.skip() if choice is None else choice, corners, ''

        @guarded(3)
        def load_model_from(name, config_path, weights):
            source = (config_path or '').strip() or name
            if not source:
                raise ExplorerError('pick a zoo model or give a config file.')
            line = explorer.load(source, (weights or '').strip() or None)
            return line, gr.update(value=None), ''

        @guarded(2)
        def run_method(state, name, count, progress=gr.Progress()):
            figure, text = explorer.method(
                state, name, count,
                lambda fraction, text: progress(fraction, desc=text))
            return figure, text

        sample.change(pick_sample, sample, shown, api_name='sample')
        upload.upload(pick_upload, upload, shown, api_name='upload')
        apply.click(apply_action, [current, chosen, action], shown,
                    api_name='intervene')
        occlude.click(apply_occlusion, [current, box, mode], shown,
                      api_name='occlude')
        reset.click(back, current, shown, api_name='reset')
        scene.select(click, [current, box], [chosen, box, status])
        load.click(load_model_from, [zoo, config, checkpoint],
                   [model_line, sample, status], api_name='load')
        running = run.click(run_method, [current, method, masks],
                            [method_map, method_status], api_name='method')
        stop.click(explorer.cancel, None, method_status, cancels=[running],
                   api_name='stop')
    return app


def launch(source: Optional[str] = None, checkpoint: Optional[str] = None,
           host: str = '127.0.0.1', port: int = 7860, block: bool = True):
    """Load the model, build the page and serve it on ``host:port``."""
    _gradio()
    explorer = Explorer(load_model(source, checkpoint))
    app = build_app(explorer)
    app.queue()
    print(f'BR-NPA part explorer on http://{host}:{port} '
          f'({explorer.loaded.name})', flush=True)
    app.launch(server_name=host, server_port=port, inbrowser=False,
               share=False, prevent_thread_lock=not block, quiet=True)
    return app
