"""The zoo's modules and tools use each other's public names only."""
import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FILES = sorted((REPO / 'brnpa_plugins' / 'zoo').glob('*.py')) + [
    REPO / 'tools' / 'gen_model_zoo.py', REPO / 'tools' / 'publish_model.py']


def test_no_private_name_is_imported_from_another_module():
    private = [
        f'{path.relative_to(REPO)}: {alias.name} from {node.module}'
        for path in FILES
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name.startswith('_') and not alias.name.startswith('__')]
    assert private == []
