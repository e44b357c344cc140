"""What evidence does each model use? Interventions on generated scenes.

The generator says which objects decide the class; a model may still use
something else. Each intervention re-renders a test scene with one kind of
evidence changed, the model is run again, and the report counts how often
its prediction follows each kind:

- ``as rendered``: the scene itself (the model's accuracy);
- ``decisive removed``: every decisive object removed (the background shows
  through): a model that uses them falls to chance;
- ``decisive demoted``: every decisive object turned into a distractor;
- ``distractors removed``: every distractor removed: a model that ignores
  them keeps its accuracy;
- ``roles swapped``: the decisive objects demoted and one complete set of
  distractors (one object of each decisive shape) promoted: a model that
  uses the decisive evidence follows the class those objects now show;
- on a dataset with a planted shortcut (``shortcut='marker'``), ``marker
  removed`` and ``marker recoded`` (the corner marker showing another
  class's code): a model that uses the objects keeps its class, one that
  reads the marker falls (towards 0 when recoded: it follows the code).

The rate is against the class the changed scene shows (its *expected*
label: the original class, the swapped class, or none when no class is
left, where "follows" means the original class is kept, which chance
bounds). The ground truth for a model is what these rates show, not what
the generator intended.
"""
from collections import defaultdict
from dataclasses import replace
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..data import synthetic
from .statistics import rate_interval

Scene = synthetic.Scene

#: Name -> what the intervention changes (in the order of the report).
INTERVENTIONS = {
    'as rendered': 'nothing',
    'decisive removed': 'every decisive object removed',
    'decisive demoted': 'every decisive object made a distractor',
    'distractors removed': 'every distractor removed',
    'roles swapped': 'decisive objects demoted, one set of distractors '
                     'promoted',
    'marker removed': "the planted corner marker removed",
    'marker recoded': "the planted corner marker showing another class",
}
#: The interventions on a planted shortcut (datasets with one only).
SHORTCUT_INTERVENTIONS = ('marker removed', 'marker recoded')


def scene_class(scene: Scene,
                config: synthetic.SyntheticPartsConfig) -> Optional[int]:
    """The class the decisive objects of ``scene`` show, or None.

    A class shows when the decisive objects are exactly one of each of the
    first ``config.parts`` shapes, painted as one of the classes'
    assignments (:func:`~brnpa_plugins.data.synthetic.class_assignments`).
    """
    colours = list(synthetic.COLOURS)
    decisive = [o for o in scene.objects if o.decisive]
    shapes = {o.shape: colours.index(o.colour) for o in decisive}
    wanted = synthetic.SHAPES[:config.parts]
    if len(decisive) != config.parts or sorted(shapes) != sorted(wanted):
        return None
    painted = tuple(shapes[s] for s in wanted)
    assignments = [tuple(a) for a in synthetic.class_assignments(config)]
    return assignments.index(painted) if painted in assignments else None


def _keep(scene: Scene, keep: Callable) -> Scene:
    return replace(scene, objects=tuple(o for o in scene.objects if keep(o)))


def _swap(scene: Scene) -> Scene:
    """Every decisive object swapped with the first distractor of its shape
    (:func:`~brnpa_plugins.data.synthetic.intervene`, ``'swap'``)."""
    decisive = [k for k, o in enumerate(scene.objects) if o.decisive]
    for index in decisive:
        scene = synthetic.intervene(scene, index, 'swap')
    return scene


def intervened(scene: Scene, name: str,
               config: synthetic.SyntheticPartsConfig
               ) -> Tuple[Scene, Optional[int]]:
    """``scene`` changed by intervention ``name`` and its expected label
    (None: no class is left)."""
    if name == 'as rendered':
        return scene, scene.label
    if name == 'decisive removed':
        return _keep(scene, lambda o: not o.decisive), None
    if name == 'decisive demoted':
        return replace(scene, objects=tuple(
            replace(o, decisive=False) for o in scene.objects)), None
    if name == 'distractors removed':
        return _keep(scene, lambda o: o.decisive), scene.label
    if name == 'roles swapped':
        changed = _swap(scene)
        return changed, scene_class(changed, config)
    if name in SHORTCUT_INTERVENTIONS:
        action = name.split()[1]
        return synthetic.edit_shortcut(scene, action, config), scene.label
    raise ValueError(f'unknown intervention {name!r}; known: '
                     f'{list(INTERVENTIONS)}')


class InterventionTally:
    """Counts, per model and intervention, how often the prediction is the
    expected label (or, with no label left, the original class)."""

    def __init__(self, config: synthetic.SyntheticPartsConfig,
                 names: Optional[Sequence[str]] = None):
        marked = config.shortcut == 'marker'
        if names is None:  # roles swap only with a distractor per shape
            names = [n for n in INTERVENTIONS if (
                n != 'roles swapped' or config.distractors >= config.parts)
                and (marked or n not in SHORTCUT_INTERVENTIONS)]
        unknown = sorted(set(names) - set(INTERVENTIONS))
        if unknown:
            raise ValueError(f'unknown interventions {unknown}; known: '
                             f'{list(INTERVENTIONS)}')
        planted = sorted(set(names) & set(SHORTCUT_INTERVENTIONS))
        if planted and not marked:
            raise ValueError(
                f'interventions {planted} change a planted marker, but the '
                f"dataset has shortcut={config.shortcut!r}; make it with "
                "shortcut='marker'")
        self.config, self.names = config, list(names)
        self.counts: Dict[Tuple[str, str], List[int]] = defaultdict(
            lambda: [0, 0])

    def render(self, scenes: Sequence[Scene]
               ) -> Tuple[List[np.ndarray], Dict[str, np.ndarray]]:
        """Every scene under every intervention (uint8 H x W x 3 images,
        intervention by intervention) and the targets per intervention."""
        images, targets = [], {}
        for name in self.names:
            changed = [intervened(s, name, self.config) for s in scenes]
            images += [synthetic.render_scene(s, self.config)
                       for s, _ in changed]
            targets[name] = np.array(
                [s.label if label is None else label
                 for s, (_, label) in zip(scenes, changed)])
        return images, targets

    def add(self, model: str, predicted: Mapping[str, np.ndarray],
            targets: Mapping[str, np.ndarray]) -> None:
        """Add a batch: ``predicted[name]`` are the model's classes on the
        scenes changed by ``name``."""
        for name in self.names:
            hits = np.asarray(predicted[name]) == targets[name]
            count = self.counts[model, name]
            count[0] += int(hits.sum())
            count[1] += int(hits.size)

    def rows(self) -> List[dict]:
        """One dict per model and intervention: the rate and its exact 95%
        interval."""
        rows = []
        for (model, name), (hits, trials) in self.counts.items():
            interval = rate_interval(hits, trials)
            rows.append(dict(model=model, intervention=name, hits=hits,
                             images=trials, rate=interval.mean,
                             low=interval.low, high=interval.high))
        return rows

    def markdown(self) -> str:
        """The table of the report (models as rows, interventions as
        columns), with what "follows" means."""
        if not self.counts:
            return ''
        chance = 1 / self.config.num_classes
        lines = [
            '\nEvidence each model uses: the share of test scenes, '
            're-rendered with one kind of evidence changed, on which the '
            'model predicts the class the changed scene shows (with no '
            'class left: the original class, which chance bounds at '
            f'{chance:.3f}); exact 95% intervals.'
            + (' With the planted marker removed or recoded the scene still '
               'shows its class: a model that reads the marker falls, '
               'towards 0 when the marker shows another class.'
               if set(SHORTCUT_INTERVENTIONS) & set(self.names) else '')
            + '\n',
            rates_table(self.rows())]
        return '\n'.join(lines)


def rates_table(rows: Sequence[Mapping]) -> str:
    """Rows of :meth:`InterventionTally.rows` (or of a report's
    ``summary.json``) as a markdown table: models as rows, interventions as
    columns, each rate with its exact interval."""
    names = list(dict.fromkeys(r['intervention'] for r in rows))
    by_key = {(r['model'], r['intervention']): r for r in rows}
    lines = ['| model | ' + ' | '.join(names) + ' |',
             '|---|' + '---|' * len(names)]
    for model in dict.fromkeys(r['model'] for r in rows):
        cells = ['-' if (model, name) not in by_key else
                 '{rate:.3f} [{low:.3f}, {high:.3f}]'.format(
                     **by_key[model, name]) for name in names]
        lines.append(f'| {model} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'
