"""The hooks a BR-NPA plugin implements.

Each hook receives a ``register`` callback and calls it once per thing the
plugin provides. A plugin implements only the hooks it needs::

    from brnpa_plugins.evaluation.methods import SaliencyMethod
    from brnpa_plugins.plugins import hookimpl

    @hookimpl
    def brnpa_register_saliency_methods(register):
        register(SaliencyMethod('my-method', compute_my_method))
"""
import pluggy

#: The pluggy project name, also the entry-point group plugins declare.
PROJECT_NAME = 'brnpa_plugins'

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def brnpa_register_adapters(register):
    """Register ecosystem adapters: ``register(Adapter(...))`` for each."""


@hookspec
def brnpa_register_backbones(register):
    """Register backbone families (stride surgery, feature layer): ``register(BackboneFamily(...))``."""  # noqa: E501


@hookspec
def brnpa_register_zoo_entries(register):
    """Register model-zoo entries: ``register(ZooEntry(...))``, e.g. from ``read_model_index(path)``."""  # noqa: E501


@hookspec
def brnpa_register_saliency_methods(register):
    """Register saliency methods for evaluation: ``register(SaliencyMethod(...))``."""  # noqa: E501
