"""tools/train.py prints none of the known third-party noise
(brnpa_plugins/core/noise.py) and the quiet_logs patch can be turned off."""
import os
import re
import subprocess
import sys

from brnpa_plugins.core.noise import KNOWN_NOISE

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import REPO, tiny_config  # noqa: E402


def known_noise_in(output):
    return [entry.message for entry in KNOWN_NOISE
            if re.search(entry.message, output)]


def test_train_py_prints_no_known_noise(tiny_cub_root, tmp_path):
    config = str(tmp_path / 'tiny.py')
    tiny_config(tiny_cub_root, tmp_path / 'work', with_val=False).dump(config)

    def train(**env):
        result = subprocess.run(
            [sys.executable, os.path.join(REPO, 'tools', 'train.py'), config],
            cwd=REPO, capture_output=True, text=True,
            env=dict(os.environ, **env), timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout + result.stderr

    output = train()
    assert 'Epoch(train) [1]' in output
    assert known_noise_in(output) == []
    # the log patch off: mmengine's deprecation logs are back
    assert known_noise_in(train(BRNPA_COMPAT_DISABLE='quiet_logs')) == [
        entry.message for entry in KNOWN_NOISE if entry.kind == 'log']
