"""The learner weights of the runner's checkpoints (and bare state dicts),
loaded with weights_only=True."""
import pytest
import torch

from brnpa_plugins.core import CheckpointError, atomic_save
from brnpa_plugins.fewshot import BRNPAProtoNet, load_learner_weights
from brnpa_plugins.fewshot.checkpoint import learner_state

TINY = dict(widths=(4, 6, 8, 10))


def assert_same(model, other):
    for key, value in model.state_dict().items():
        assert torch.equal(other.state_dict()[key], value), key


@pytest.mark.parametrize('prefix', ['learner.', 'classifier.learner.', ''])
def test_the_learner_weights_load_from_each_layout(tmp_path, prefix):
    torch.manual_seed(0)
    model = BRNPAProtoNet(**TINY)
    weights = {prefix + key: value for key, value in
               model.state_dict().items()}
    if prefix:  # a runner checkpoint: more weights, and the message hub
        weights['classifier.fc.weight'] = torch.zeros(2, 3)
        checkpoint = {'state_dict': weights, 'meta': {'iter': 3}}
    else:
        checkpoint = weights
    path = atomic_save(checkpoint, tmp_path / 'model.pth')
    assert learner_state(checkpoint).keys() == model.state_dict().keys()
    torch.manual_seed(1)
    other = load_learner_weights(BRNPAProtoNet(**TINY), path)
    assert_same(model, other)


def test_other_weights_or_files_are_refused(tmp_path):
    path = atomic_save({'state_dict': {'learner.x': torch.zeros(1)}},
                       tmp_path / 'other.pth')
    with pytest.raises(RuntimeError, match='Unexpected key'):
        load_learner_weights(BRNPAProtoNet(**TINY), path)
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        load_learner_weights(BRNPAProtoNet(**TINY), tmp_path / 'nothing.pth')
    (tmp_path / 'empty.pth').write_bytes(b'')
    with pytest.raises(CheckpointError):
        load_learner_weights(BRNPAProtoNet(**TINY), tmp_path / 'empty.pth')
