"""Helpers shared by the whole suite (import as ``mer_test_utils``; the
name is unique so it cannot collide with the sub-folders' conftest modules)."""
import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_SIZES = dict(train=240, val=60, test=90, pool=240)


def write_tiny_config(path: str, data_root: str, base: str = 'bdcl_stage1.py',
                      extra: str = '', max_epochs: int = 2,
                      batch_size: int = 32, train_loader: str = '') -> str:
    """Write a config inheriting ``configs/<base>`` on the tiny demo data.

    ``train_loader`` adds keyword text to the train loader, e.g.
    ``'num_workers=2, '`` (a second ``train_dataloader = ...`` line in
    ``extra`` would replace the tiny-data settings instead of merging).
    """
    from mmengine.config import Config
    base_path = osp.join(REPO, 'configs', base)
    base_cfg = Config.fromfile(base_path, import_custom_modules=False)
    demo = f'dict(data_root={data_root!r}, sizes=_sizes)'
    if base_cfg.train_dataloader.dataset.type == 'SemiSupervisedDataset':
        train = f'dict(labelled={demo}, unlabelled={demo})'
    else:
        train = demo
    text = f"""
_base_ = [{base_path!r}]
_sizes = {TINY_SIZES!r}
train_dataloader = dict({train_loader}batch_size={batch_size}, dataset={train})
val_dataloader = dict(dataset={demo})
test_dataloader = dict(dataset={demo})
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
