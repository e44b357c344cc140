"""Datasets the project generates, and readers for CUB annotation files."""
from .cub import CUB_LAYOUT, check_cub_root, load_part_locations
from .synthetic import (SyntheticPartsConfig, class_names,
                        generate_part_dataset)

__all__ = [
    'CUB_LAYOUT', 'SyntheticPartsConfig', 'check_cub_root', 'class_names',
    'generate_part_dataset', 'load_part_locations'
]
