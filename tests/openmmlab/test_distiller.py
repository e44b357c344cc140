"""BRNPADistiller: the KD loss, a frozen teacher, the two-stage recipe."""
import copy
import os
import sys

import pytest
import torch
import torch.nn.functional as F
from mmengine import load
from mmengine.optim import OptimWrapper

import brnpa_plugins.openmmlab  # noqa: F401
from brnpa_plugins.core import CheckpointError
from brnpa_plugins.openmmlab import ATTENTION_FIELD, BRNPADistiller
from brnpa_plugins.openmmlab.distiller import student_config
from brnpa_plugins.openmmlab.tools import run_mmpretrain_tool
from mmpretrain.apis import get_model
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

# The tests run with --import-mode=importlib: put the helpers on the path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _helpers_train import (CROP, NUM_CLASSES,  # noqa: E402
                            save_random_weights, tiny_config, train,
                            write_config)


@pytest.fixture(scope='module')
def teacher(tmp_path_factory):
    """A tiny low-res teacher: its config file and an untrained checkpoint."""
    folder = tmp_path_factory.mktemp('teacher')
    cfg = tiny_config('brnpa-lowres_resnet50', 'unused', folder)
    return dict(config=write_config(cfg, folder / 'teacher.py'),
                checkpoint=save_random_weights(cfg, folder / 'teacher.pth'))


def kd_model_cfg(teacher, **kwargs):
    cfg = tiny_config('brnpa-highres-kd_resnet50', 'unused', 'unused',
                      teacher=teacher)
    cfg.model.update(kwargs, data_preprocessor=cfg.data_preprocessor)
    return cfg.model


def build_distiller(teacher, **kwargs) -> BRNPADistiller:
    torch.manual_seed(0)
    return MODELS.build(kd_model_cfg(teacher, **kwargs))


def batch(size: int = 4):
    torch.manual_seed(1)
    inputs = torch.randn(size, 3, CROP, CROP)
    samples = [DataSample().set_gt_label(i % NUM_CLASSES) for i in range(size)]
    return inputs, samples


def test_loss_matches_the_hinton_formula(teacher):
    temperature, alpha = 3.0, 0.6
    model = build_distiller(teacher, temperature=temperature, alpha=alpha)
    inputs, samples = batch()
    labels = torch.tensor([int(s.gt_label) for s in samples])
    student = model(inputs, mode='tensor')
    teacher_logits = model.teacher_logits(inputs)
    p_teacher = (teacher_logits / temperature).softmax(1)
    log_p_student = (student / temperature).log_softmax(1)
    kl = (p_teacher * (p_teacher.log() - log_p_student)).sum(1).mean()
    expected = (alpha * temperature**2 * kl +
                (1 - alpha) * F.cross_entropy(student, labels))
    loss = model.loss(inputs, samples)
    assert set(loss) == {'loss_distill'}
    torch.testing.assert_close(loss['loss_distill'], expected)


def test_teacher_is_frozen_and_left_out_of_the_checkpoint(teacher):
    model = build_distiller(teacher)
    model.init_weights()
    frozen = model.load_teacher()
    teacher_state = copy.deepcopy(frozen.state_dict())
    assert not any(p.requires_grad for p in frozen.parameters())
    assert {id(p) for p in frozen.parameters()}.isdisjoint(
        id(p) for p in model.parameters())

    student = MODELS.build(student_config(kd_model_cfg(teacher)))
    assert list(model.state_dict()) == list(student.state_dict())

    before = copy.deepcopy(model.state_dict())
    model.train()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    inputs, samples = batch()
    log = model.train_step(dict(inputs=inputs, data_samples=samples),
                           wrapper)
    assert torch.isfinite(log['loss_distill'])
    assert not frozen.training
    for name, value in frozen.state_dict().items():
        assert torch.equal(value, teacher_state[name]), name
    assert all(p.grad is None for p in frozen.parameters())
    changed = [k for k, v in model.state_dict().items()
               if not torch.equal(v, before[k])]
    assert any('backbone' in k for k in changed)
    assert any(k.endswith('running_mean') for k in changed)


@pytest.mark.parametrize('content, error', [
    (None, FileNotFoundError), (b'', CheckpointError)],
    ids=['missing', 'empty'])
def test_wrong_teacher_checkpoint_fails_before_training(teacher, tmp_path,
                                                        content, error):
    path = tmp_path / 'nowhere.pth'
    if content is not None:
        path.write_bytes(content)
    model = build_distiller(dict(teacher, checkpoint=str(path)))
    with pytest.raises(error) as raised:
        model.init_weights()
    assert str(raised.value).startswith(
        'BRNPADistiller: cannot load the teacher checkpoint '
        f'model.teacher.checkpoint={str(path)!r}: ')
    assert ('does not exist' if content is None else '0 bytes') in str(
        raised.value)


def test_an_unknown_argument_names_the_closest_one(teacher):
    with pytest.raises(TypeError, match="BRNPADistiller: unknown argument "
                       r"'temprature' \(did you mean 'temperature'\?\); "
                       'known arguments: teacher, temperature, alpha, '
                       'backbone, neck, head'):
        build_distiller(teacher, temprature=2.0)


@pytest.mark.parametrize('kwargs, message', [
    (dict(temperature=0.0), 'temperature must be > 0'),
    (dict(alpha=1.5), r'alpha must lie in \[0, 1\]'),
])
def test_bad_arguments_are_named(teacher, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_distiller(teacher, **kwargs)
    with pytest.raises(ValueError, match='exactly the keys'):
        build_distiller(dict(config=teacher['config']))


def test_teacher_with_another_normalisation_is_refused(teacher, tmp_path):
    from mmengine.config import Config
    cfg = Config.fromfile(teacher['config'])
    cfg.data_preprocessor.std = [1.0, 1.0, 1.0]
    other = dict(teacher, config=write_config(cfg, tmp_path / 'other.py'))
    with pytest.raises(ValueError, match='same data_preprocessor'):
        build_distiller(other).load_teacher()


def test_two_stage_recipe_then_test_with_the_plain_student(
        tiny_cub_root, tmp_path):
    # Stage 1: the low-res teacher, with cross-entropy.
    teacher_dir = tmp_path / 'teacher'
    teacher_config = write_config(
        tiny_config('brnpa-lowres_resnet50', tiny_cub_root, teacher_dir),
        tmp_path / 'teacher.py')
    train(teacher_config)
    teacher_checkpoint = str(teacher_dir / 'epoch_1.pth')

    # Stage 2: the high-res student, distilled from it.
    student_dir = tmp_path / 'student'
    kd_cfg = tiny_config(
        'brnpa-highres-kd_resnet50', tiny_cub_root, student_dir,
        teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))
    assert kd_cfg.model.backbone.strides == (1, 2, 1, 1)
    train(write_config(kd_cfg, tmp_path / 'student_kd.py'))
    checkpoint_path = str(student_dir / 'epoch_1.pth')
    checkpoint = torch.load(checkpoint_path, weights_only=True)
    assert not any('teacher' in key for key in checkpoint['state_dict'])

    # Test it with the plain student config: no distiller, no teacher.
    plain_cfg = copy.deepcopy(kd_cfg)
    plain_cfg.model = student_config(kd_cfg.model)
    plain_cfg.work_dir = str(tmp_path / 'test')
    plain_config = write_config(plain_cfg, tmp_path / 'student_plain.py')
    student = get_model(plain_config, pretrained=False)
    student.load_state_dict(checkpoint['state_dict'], strict=True)
    loaded = get_model(plain_config, pretrained=checkpoint_path)
    for key, value in checkpoint['state_dict'].items():
        assert torch.equal(loaded.state_dict()[key], value), key

    results = str(tmp_path / 'results.pkl')
    run_mmpretrain_tool('test', [plain_config, checkpoint_path, '--out',
                                 results])
    predictions = load(results)
    assert len(predictions) == 16
    maps = predictions[0][ATTENTION_FIELD]
    # 64 px at strides (1, 2, 1, 1): 8 x 8 high-resolution maps.
    assert tuple(maps.shape) == (3, CROP // 8, CROP // 8)
    assert os.path.isdir(student_dir / 'ranked_maps' / 'epoch_1')
