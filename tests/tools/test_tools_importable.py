"""Every tool imports as a module, from the installed package, without
touching sys.path."""
import ast
import glob
import os.path as osp
import subprocess
import sys

from mer_test_utils import REPO

TOOLS = sorted(glob.glob(osp.join(REPO, 'tools', '**', '*.py'),
                         recursive=True))


def test_no_tool_edits_sys_path():
    offenders = []
    for path in TOOLS:
        for node in ast.walk(ast.parse(open(path, encoding='utf-8').read())):
            if (isinstance(node, ast.Attribute)
                    and node.attr in ('insert', 'append', 'extend')
                    and ast.unparse(node.value) == 'sys.path'):
                offenders.append(osp.relpath(path, REPO))
    assert not offenders, f'tools that edit sys.path: {offenders}'


def test_every_tool_imports_and_leaves_sys_path_alone():
    code = '''
import importlib.util, sys
before = list(sys.path)
for i, path in enumerate(sys.argv[1:]):
    spec = importlib.util.spec_from_file_location(f"tool_{i}", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert sys.path == before, path
'''
    proc = subprocess.run([sys.executable, '-c', code, *TOOLS], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert len(TOOLS) > 10
    assert proc.returncode == 0, proc.stderr[-3000:]
