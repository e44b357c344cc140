"""Parameters and FLOPs of a config, counted as mmpretrain's get_flops.py.

mmpretrain's ``tools/analysis_tools/get_flops.py`` builds the model with
``mmpretrain.get_model(config)``, replaces ``forward`` by ``extract_feat``
(backbone and neck: for BR-NPA the grouping into parts, not the linear
head) and runs mmengine's ``get_model_complexity_info`` on one image of the
given size. :func:`measure_complexity` does exactly that and returns the
numbers instead of printing them; ``python tools/gen_model_zoo.py
--measure`` writes them into the metafiles.
"""
from typing import Dict, Optional, Tuple


def pipeline_input_size(config: str) -> Optional[int]:
    """The square size the test pipeline of ``config`` feeds the model.

    Args:
        config (str): Path of an mmpretrain config.

    Returns:
        int | None: The last ``crop_size`` (or square ``Resize`` scale) of
        ``test_dataloader.dataset.pipeline``; None when the pipeline keeps
        the images' own size.
    """
    from mmengine.config import Config
    size = None
    pipeline = Config.fromfile(config).test_dataloader.dataset.pipeline
    for transform in pipeline:
        value = transform.get('crop_size', transform.get('scale'))
        if isinstance(value, (list, tuple)) and len(set(value)) == 1:
            value = value[0]
        if isinstance(value, int):
            size = value
    return size


def measure_complexity(config: str, input_size: Tuple[int, int]
                       ) -> Dict[str, int]:
    """Count what mmpretrain's get_flops.py prints, for one input size.

    Args:
        config (str): Path of an mmpretrain config (or a zoo name).
        input_size (tuple[int, int]): Height and width of the image.

    Returns:
        dict: ``params`` (all parameters of the model, head included) and
        ``flops`` (of ``extract_feat`` on one 3 x H x W image).
    """
    import brnpa_plugins.openmmlab  # noqa: F401  (registers the modules)
    from mmengine.analysis import get_model_complexity_info
    from mmpretrain import get_model
    model = get_model(config)
    model.eval()
    model.forward = model.extract_feat
    info = get_model_complexity_info(model, (3, *input_size))
    return dict(params=int(info['params']), flops=int(info['flops']))
