"""Built-in plugin: the learn2learn (few-shot classification) adapter."""
from ..adapters import Adapter
from ..hookspecs import hookimpl

#: learn2learn 0.2.0 has no wheel, and its shipped C files do not compile on
#: Python 3.11: the build option regenerates them with Cython.
INSTALL = ('pip install "brnpa-plugins[fewshot]" && pip install --no-deps '
           'learn2learn==0.2.0 --config-settings=--build-option=build_ext')


@hookimpl
def brnpa_register_adapters(register):
    register(Adapter(
        name='fewshot',
        module='brnpa_plugins.fewshot',
        requires=('learn2learn', ),
        install=INSTALL,
        description='BR-NPA embeddings and prototypical networks on '
        'learn2learn episodes'))
