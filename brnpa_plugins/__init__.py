"""BR-NPA for the training tools people already use.

``brnpa_plugins.core`` is the attention model in pure PyTorch. The ecosystem
adapters register BR-NPA into their library when they are imported:
``brnpa_plugins.openmmlab`` (mmpretrain; in a config,
``custom_imports = dict(imports=['brnpa_plugins.openmmlab'])``),
``brnpa_plugins.reid`` (torchreid) and ``brnpa_plugins.fewshot``
(learn2learn). Importing ``brnpa_plugins`` itself is cheap and changes
nothing in any other library.
"""
from .core import BRNPA, BRNPAOutput
from .version import __version__

__all__ = ['BRNPA', 'BRNPAOutput', '__version__']
