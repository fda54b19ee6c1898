"""The torchvision shim: applied only when the compiled ops cannot load."""
import importlib.util
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec('torchvision') is None,
                                reason='torchvision is not installed')

PROBE = """
import glob, os.path as osp, importlib.util, torch
spec = importlib.util.find_spec('torchvision')
lib = glob.glob(osp.join(osp.dirname(spec.origin), '_C*.so'))[0]
try:
    torch.ops.load_library(lib)
    print('LOADS')
except OSError:
    print('BROKEN')
"""


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=120)


def test_shim_matches_whether_the_extension_loads():
    broken = run(PROBE).stdout.strip() == 'BROKEN'
    proc = run('import mer_toolbox\n'
               'from mer_toolbox.utils.torchvision_compat import '
               'ensure_torchvision_importable\n'
               'print(ensure_torchvision_importable())\n'
               'import torchvision, timm\n'
               'print("IMPORTED", torchvision.__version__)')
    assert proc.returncode == 0, proc.stderr[-2000:]
    applied, imported = proc.stdout.split('\n')[:2]
    assert applied == str(broken)  # applied exactly when needed
    assert imported.startswith('IMPORTED')


def test_not_applied_after_torchvision_was_imported():
    proc = run('import sys, types\n'
               "sys.modules['torchvision'] = types.ModuleType('torchvision')\n"
               'from mer_toolbox.utils import torchvision_compat as t\n'
               "t._state['shimmed'] = None\n"
               'print(t.ensure_torchvision_importable())')
    assert proc.stdout.strip().endswith('False'), proc.stderr[-2000:]
