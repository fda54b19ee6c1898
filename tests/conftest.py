"""Fixtures shared by the whole suite: tiny demo data and tiny configs."""
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_SIZES = dict(train=240, val=60, test=90, pool=240)

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')


@pytest.fixture(scope='session')
def repo_root() -> str:
    return REPO


@pytest.fixture(scope='session')
def tiny_demo_root(tmp_path_factory) -> str:
    """A small demo dataset generated once per test session."""
    from mer_toolbox.datasets import ensure_demo_data
    root = str(tmp_path_factory.mktemp('demo') / 'mer_demo')
    return ensure_demo_data(root, seed=0, sizes=TINY_SIZES)


def write_tiny_config(path: str, data_root: str, base: str = 'bdcl_stage1.py',
                      extra: str = '', max_epochs: int = 2,
                      batch_size: int = 32) -> str:
    """Write a config inheriting ``configs/<base>`` on the tiny demo data."""
    text = f"""
_base_ = [{osp.join(REPO, 'configs', base)!r}]
_sizes = {TINY_SIZES!r}
train_dataloader = dict(batch_size={batch_size}, dataset=dict(data_root={data_root!r}, sizes=_sizes))
val_dataloader = dict(dataset=dict(data_root={data_root!r}, sizes=_sizes))
test_dataloader = dict(dataset=dict(data_root={data_root!r}, sizes=_sizes))
train_cfg = dict(max_epochs={max_epochs})
param_scheduler = [dict(type='CosineAnnealingLR', T_max={max_epochs}, by_epoch=True, eta_min=1e-5)]
default_hooks = dict(logger=dict(interval=5))
{extra}
"""
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return path


def run_tool(args, cwd=REPO, env=None, timeout=600, check=True):
    """Run a repo tool in a fresh interpreter; return the CompletedProcess."""
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    full_env.update(env or {})
    proc = subprocess.run([sys.executable] + list(args), cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}')
    return proc
