"""tools/visualize_attention.py on a checkpoint trained by the real Runner."""
import os
import subprocess
import sys

from mmengine.runner import Runner
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def test_writes_one_png_per_image(tiny_cub_root, tiny_cfg, tmp_path):
    Runner.from_cfg(tiny_cfg).train()
    config = str(tmp_path / 'tiny.py')
    tiny_cfg.dump(config)
    images = os.path.join(tiny_cub_root, 'images', '001.' + sorted(
        os.listdir(os.path.join(tiny_cub_root, 'images')))[0].split('.', 1)[1])
    out_dir = tmp_path / 'maps'
    result = subprocess.run(
        [sys.executable, 'tools/visualize_attention.py', images, config,
         os.path.join(tiny_cfg.work_dir, 'epoch_1.pth'), '--out-dir',
         str(out_dir), '--device', 'cpu'],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    written = sorted(os.listdir(out_dir))
    assert len(written) == 12  # 8 train + 4 test images of the first class
    assert all(name.endswith('.png') for name in written)
    width, height = Image.open(out_dir / written[0]).size
    assert width > 4 * height  # image, overlay and 3 part panels in a row
    assert 'part activity' in result.stdout
    assert 'MultiScaleDeformableAttention' not in result.stderr  # known noise


def test_missing_input_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, 'tools/visualize_attention.py',
         str(tmp_path / 'nothing'), 'cfg.py', 'ckpt.pth', '--out-dir',
         str(tmp_path / 'maps')], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2
    assert 'neither an image nor a folder' in result.stderr
    assert not (tmp_path / 'maps').exists()
