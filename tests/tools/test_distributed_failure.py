"""A rank that crashes under torchrun fails the job promptly, with its error."""
import os
import socket
import time

import pytest

from mer_test_utils import run_tool, write_tiny_config

pytestmark = pytest.mark.slow

CRASHING_HOOK = '''
import os
from mmengine.hooks import Hook
from mer_toolbox.registry import HOOKS


@HOOKS.register_module()
class CrashOnRankOneHook(Hook):
    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if os.environ.get('RANK') == '1' and batch_idx == 2:
            raise RuntimeError('rank 1 exploded on purpose')
'''


def test_crashing_rank_fails_the_job_fast(tmp_path, tiny_demo_root):
    (tmp_path / 'crash_plugin.py').write_text(CRASHING_HOOK)
    cfg = write_tiny_config(
        str(tmp_path / 'c.py'), tiny_demo_root, batch_size=16,
        extra="custom_imports = dict(imports=['crash_plugin'])\n"
              "custom_hooks = [dict(type='FeatureNormHook'), "
              "dict(type='CrashOnRankOneHook')]\n")
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    start = time.time()
    proc = run_tool(['-m', 'torch.distributed.run', '--nproc-per-node=2',
                     f'--master-port={port}', 'tools/train.py', cfg,
                     '--work-dir', str(tmp_path / 'w'), '--launcher',
                     'pytorch'],
                    env=dict(PYTHONPATH=os.pathsep.join(
                        [str(tmp_path), os.environ.get('PYTHONPATH', '')])),
                    check=False, timeout=300)
    elapsed = time.time() - start
    assert proc.returncode != 0
    assert 'rank 1 exploded on purpose' in proc.stdout + proc.stderr
    assert elapsed < 240, f'the job took {elapsed:.0f} s to fail'
