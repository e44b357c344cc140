"""Built-in plugin: the torchreid (person re-identification) adapter."""
from ..adapters import Adapter
from ..hookspecs import hookimpl


@hookimpl
def brnpa_register_adapters(register):
    register(Adapter(
        name='reid',
        module='brnpa_plugins.reid',
        requires=('torchreid', ),
        install='pip install "brnpa-plugins[torchreid]"',
        description='BR-NPA re-ID models in torchreid.models.build_model'))
