"""BR-NPA for the training tools people already use.

``brnpa_plugins.core`` is the attention model in pure PyTorch. The ecosystem
adapters (``brnpa_plugins.openmmlab``, ``brnpa_plugins.reid``,
``brnpa_plugins.fewshot``) register BR-NPA into mmpretrain, torchreid and
learn2learn when they are imported. Importing ``brnpa_plugins`` itself
activates the adapters whose ecosystem is already imported, which is what
mmengine's ``custom_imports = dict(imports=['brnpa_plugins'])`` relies on.
"""
from .core import BRNPA, BRNPAOutput
from .plugins import activate_imported_ecosystems
from .version import __version__

activate_imported_ecosystems()

__all__ = ['BRNPA', 'BRNPAOutput', '__version__']
