"""Imports point down: every import in the package obeys the table of
``docs/architecture.md`` (the one place the rule is written)."""
import ast
import re
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / 'mer_toolbox'
RULES_DOC = REPO / 'docs' / 'architecture.md'
ROOT = 'mer_toolbox'
#: Optional stacks that may only be imported inside functions.
HEAVY = ('transformers', 'timm', 'google.genai', 'av', 'cv2')


def read_rules(text: str) -> Dict[str, Set[str]]:
    """``folder -> folders it may import`` from the doc's marked table."""
    match = re.search(r'<!-- layer-rules: start -->(.*?)<!-- layer-rules: '
                      r'end -->', text, re.S)
    if match is None:
        raise ValueError(f'{RULES_DOC}: no layer-rules table')
    rules = {}
    for line in match.group(1).strip().splitlines()[2:]:  # skip the header
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        folder = re.findall(r'`([\w.]+)`', cells[0])[0]
        rules[folder] = set(re.findall(r'`([\w.]+)`', cells[2]))
    return rules


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix('').parts)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imports_of(path: Path) -> Iterator[Tuple[str, int, bool]]:
    """``(imported module, line, at module level)`` for every import,
    relative ones resolved; ``from pkg import name`` yields ``pkg.name``
    (``name`` may be a submodule)."""
    tree = ast.parse(path.read_text(encoding='utf-8'), str(path))
    package = module_name(path).split('.')
    if path.name != '__init__.py':
        package = package[:-1]
    top_level = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, id(node) in top_level
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parent = package[:len(package) - node.level + 1]
                base = '.'.join(parent + ([base] if base else []))
            for alias in node.names:
                yield f'{base}.{alias.name}', node.lineno, id(node) in top_level


def folder_of(module: str) -> str:
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else ROOT


def violations(rules: Dict[str, Set[str]]) -> List[str]:
    found = []
    for path in sorted(PACKAGE.rglob('*.py')):
        source = folder_of(module_name(path))
        for target, line, _ in imports_of(path):
            if not target.startswith(ROOT + '.'):
                continue
            dest = folder_of(target)
            if dest != source and dest not in rules.get(source, ()):
                found.append(f'{path.relative_to(REPO)}:{line}: {source} -> '
                             f'{target}')
    return found


@pytest.fixture(scope='module')
def rules() -> Dict[str, Set[str]]:
    return read_rules(RULES_DOC.read_text(encoding='utf-8'))


def test_table_names_every_folder(rules):
    folders = {p.name for p in PACKAGE.iterdir()
               if (p / '__init__.py').is_file()}
    folders |= {p.stem for p in PACKAGE.glob('*.py') if p.stem != '__init__'}
    assert folders | {ROOT} == set(rules), (
        'docs/architecture.md must give every folder of the package a row')
    for folder, allowed in rules.items():
        assert allowed <= set(rules), f'{folder}: unknown {allowed - set(rules)}'


def test_no_import_points_up(rules):
    assert violations(rules) == []


def test_models_and_datasets_never_reach_priors_or_media(rules):
    for folder in ('models', 'datasets', 'evaluation'):
        assert not rules[folder] & {'priors', 'media', 'engine', 'apis'}


def test_checker_catches_an_upward_import(rules, tmp_path, monkeypatch):
    # the checker itself must see function-local and relative imports
    fake = tmp_path / 'mer_toolbox'
    (fake / 'models').mkdir(parents=True)
    (fake / 'models' / '__init__.py').write_text('')
    (fake / 'models' / 'bad.py').write_text(
        'def build():\n    from ..priors.gemini import Gemini\n')
    monkeypatch.setitem(globals(), 'REPO', tmp_path)
    monkeypatch.setitem(globals(), 'PACKAGE', fake)
    assert violations(rules) == [
        'mer_toolbox/models/bad.py:2: models -> mer_toolbox.priors.gemini.Gemini']


def test_heavy_stacks_are_imported_inside_functions_only():
    found = []
    for path in sorted(PACKAGE.rglob('*.py')):
        for target, line, top in imports_of(path):
            if top and any(target == h or target.startswith(h + '.')
                           for h in HEAVY):
                found.append(f'{path.relative_to(REPO)}:{line}: {target}')
    assert found == []
