"""The package's layers: which package may import which, and no circles.

docs/architecture.md draws the same layers. An import goes down (to a
lower layer) or stays inside its package; two packages of one layer do not
import each other. Imports inside functions count for the layers (they are
still dependencies) but not for the circles (they run after both modules
are loaded).
"""
import ast
import os
import subprocess
import sys
from collections import defaultdict

import brnpa_plugins

PACKAGE_DIR = os.path.dirname(brnpa_plugins.__file__)
REPO = os.path.dirname(PACKAGE_DIR)

#: Layer of each top-level module or subpackage of brnpa_plugins.
LAYERS = {
    'version': 0,
    'core': 1,
    'plugins': 2,
    'backbones': 3, 'data': 3,
    'evaluation': 4, 'zoo': 4,
    'openmmlab': 5, 'reid': 5, 'fewshot': 5,
    'profiling': 6, 'explorer': 6,
    'cli': 7, '__init__': 7,
}


def _modules():
    """(module name, path, is a package's __init__) of every module."""
    for folder, _, files in os.walk(PACKAGE_DIR):
        for name in sorted(files):
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, REPO)[:-3]
                module = relative.replace(os.sep, '.')
                package = name == '__init__.py'
                if package:
                    module = module[:-len('.__init__')]
                yield module, path, package


def _imported(module: str, package: bool, node) -> list:
    """The brnpa_plugins modules an import statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split('.')
            base = base if package else base[:-1]
            base = base[:len(base) - (node.level - 1)]
            stem = '.'.join(base + ([node.module] if node.module else []))
        else:
            stem = node.module
        # `from .x import y` may import the module x.y
        names = [stem] + [f'{stem}.{alias.name}' for alias in node.names]
    return [name for name in names
            if name == 'brnpa_plugins' or name.startswith('brnpa_plugins.')]


def _graph(top_level_only: bool):
    known = {module for module, _, _ in _modules()}
    graph = defaultdict(set)
    for module, path, package in _modules():
        tree = ast.parse(open(path, encoding='utf-8').read(), path)
        nodes = ast.walk(tree)
        if top_level_only:
            # module-level statements, including those under if / try
            nodes = [node for statement in tree.body
                     for node in ast.walk(statement)
                     if not isinstance(statement, (ast.FunctionDef,
                                                   ast.AsyncFunctionDef,
                                                   ast.ClassDef))]
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name in _imported(module, package, node):
                    if name in known and name != module:
                        graph[module].add(name)
    return graph


def _top(module: str) -> str:
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else '__init__'


def test_every_package_has_a_layer():
    tops = {_top(module) for module, _, _ in _modules()}
    assert tops <= set(LAYERS), sorted(tops - set(LAYERS))


def test_imports_go_down_the_layers():
    upward = []
    for module, targets in _graph(top_level_only=False).items():
        for target in targets:
            a, b = _top(module), _top(target)
            if a != b and LAYERS[b] >= LAYERS[a]:
                upward.append(f'{module} -> {target}')
    assert not upward, upward


def test_no_import_circle():
    graph = _graph(top_level_only=True)
    circles, state = [], {}

    def visit(module, path):
        state[module] = 'open'
        for target in sorted(graph.get(module, ())):
            # a package imports its submodules first: not a circle back
            if module.startswith(target + '.'):
                continue
            if state.get(target) == 'open':
                circles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = 'done'

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, circles


def test_converting_a_backbone_imports_no_evaluation_or_zoo_code():
    code = (
        'import sys\n'
        'from mmpretrain.models import ResNet\n'
        'from brnpa_plugins.backbones import to_high_resolution\n'
        'to_high_resolution(ResNet(depth=18))\n'
        "bad = sorted(m for m in sys.modules if m.startswith(("
        "'brnpa_plugins.evaluation', 'brnpa_plugins.zoo', "
        "'brnpa_plugins.openmmlab', 'brnpa_plugins.reid', "
        "'brnpa_plugins.fewshot')))\n"
        'print(bad)\n'
        "assert 'brnpa_plugins.backbones.resnet' in sys.modules\n")
    result = subprocess.run([sys.executable, '-c', code], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == '[]'
