"""Measuring how faithful and how well placed attention maps are."""
from .pointing import map_peaks, pointing_game, random_pointing_baseline

__all__ = ['map_peaks', 'pointing_game', 'random_pointing_baseline']
