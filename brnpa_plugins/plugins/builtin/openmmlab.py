"""Built-in plugin: the OpenMMLab (mmpretrain) adapter."""
from ..adapters import Adapter
from ..hookspecs import hookimpl


@hookimpl
def brnpa_register_adapters(register):
    register(Adapter(
        name='openmmlab',
        module='brnpa_plugins.openmmlab',
        requires=('mmengine', 'mmcv', 'mmpretrain'),
        install='pip install "brnpa-plugins[openmmlab]"',
        description='BR-NPA neck and heads in mmpretrain\'s MODELS registry, '
        'zoo names in mmpretrain.get_model'))
