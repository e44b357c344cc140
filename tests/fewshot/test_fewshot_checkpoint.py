import json
import os
import random

import numpy as np
import pytest
import torch

from brnpa_plugins.fewshot import (BRNPAProtoNet, load_checkpoint,
                                   load_model_weights, save_checkpoint)
from brnpa_plugins.fewshot.checkpoint import (rng_state, save_json,
                                              set_rng_state)


def test_checkpoints_round_trip_with_weights_only(tmp_path):
    model = BRNPAProtoNet(widths=(4, 6, 8, 10))
    optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9)
    model(torch.rand(2, 3, 32, 32), torch.tensor([0, 1]),
          torch.rand(2, 3, 32, 32)).sum().backward()
    optimizer.step()
    path = save_checkpoint({'model': model.state_dict(),
                            'optimizer': optimizer.state_dict(),
                            'status': {'phase': 'train', 'step': 3,
                                       'best': None},
                            'rng': rng_state()}, tmp_path / 'latest.pth')
    assert os.listdir(tmp_path) == ['latest.pth']  # no temporary file left
    state = load_checkpoint(path)
    assert state['status']['step'] == 3
    other = load_model_weights(BRNPAProtoNet(widths=(4, 6, 8, 10)), path)
    for key, value in model.state_dict().items():
        assert torch.equal(other.state_dict()[key], value)


def test_rng_states_are_restored(tmp_path):
    path = save_checkpoint({'rng': rng_state()}, tmp_path / 'rng.pth')
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(load_checkpoint(path)['rng'])
    assert (random.random(), np.random.rand(),
            torch.rand(1).item()) == expected


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = save_json({'a': 1}, tmp_path / 'metrics.json')
    with pytest.raises(TypeError):
        save_json({'a': object()}, path)
    assert json.loads(open(path).read()) == {'a': 1}
    assert os.listdir(tmp_path) == ['metrics.json']


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        load_checkpoint(tmp_path / 'nothing.pth')
