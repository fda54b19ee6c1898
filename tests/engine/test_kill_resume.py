"""kill -9 in the middle of a pseudo-labelled epoch, then --resume: the run
ends exactly where an uninterrupted run ends (weights, table, metrics)."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from mer_test_utils import REPO, run_tool, write_tiny_config

pytestmark = pytest.mark.slow

EXTRA = """
custom_hooks = [dict(type='FeatureNormHook'), dict(type='EpochSeedHook'),
                dict(type='PseudoLabelHook', cold_start=1, threshold=0.3)]
optim_wrapper = dict(optimizer=dict(lr=0.01))
default_hooks = dict(logger=dict(interval=2))
"""


def train_until_killed(cfg: str, work: str, marker: str) -> str:
    """Start training; SIGKILL it as soon as ``marker`` is logged."""
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    proc = subprocess.Popen(
        [sys.executable, 'tools/train.py', cfg, '--work-dir', work],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    log = []
    deadline = time.time() + 300
    for line in proc.stdout:
        log.append(line)
        if marker in line:
            os.kill(proc.pid, signal.SIGKILL)
            break
        assert time.time() < deadline, 'training never reached the marker'
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, ''.join(log[-30:])
    return ''.join(log)


def test_kill_during_pseudo_labelled_epoch_then_resume(tmp_path,
                                                      tiny_demo_root):
    cfg = write_tiny_config(str(tmp_path / 'c.py'), tiny_demo_root,
                            extra=EXTRA, max_epochs=4)
    straight, killed = str(tmp_path / 'straight'), str(tmp_path / 'killed')
    run_tool(['tools/train.py', cfg, '--work-dir', straight])
    # epoch 3 trains on pseudo-labels chosen after epochs 1 and 2
    log = train_until_killed(cfg, killed, 'Epoch(train) [3][')
    assert 'PseudoLabelHook epoch 2' in log
    assert not osp.exists(osp.join(killed, 'epoch_3.pth'))
    run_tool(['tools/train.py', cfg, '--work-dir', killed, '--resume'])
    a = torch.load(osp.join(straight, 'epoch_4.pth'), weights_only=False)
    b = torch.load(osp.join(killed, 'epoch_4.pth'), weights_only=False)
    for k in a['state_dict']:
        torch.testing.assert_close(a['state_dict'][k], b['state_dict'][k],
                                   atol=1e-6, rtol=1e-5, msg=k)
    for k in ('labels', 'weights'):
        assert torch.equal(a['pseudo_labels'][k], b['pseudo_labels'][k])
    assert a['message_hub']['log_scalars']['val/emotion/waf'].current() == \
        b['message_hub']['log_scalars']['val/emotion/waf'].current()
