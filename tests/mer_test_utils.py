"""Helpers shared by the whole suite (import as ``mer_test_utils``; the
name is unique so it cannot collide with the sub-folders' conftest modules)."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_SIZES = dict(train=240, val=60, test=90, pool=240)


def write_tiny_config(path: str, data_root: str, base: str = 'bdcl_stage1.py',
                      extra: str = '', max_epochs: int = 2,
                      batch_size: int = 32, train_loader: str = '',
                      keep_best: bool = False) -> str:
    """Write a config inheriting ``configs/<base>`` on the tiny demo data.

    ``keep_best`` also keeps the best-by-validation-WAF checkpoint
    (``best.pth``), which the default recipe does not.

    ``train_loader`` adds keyword text to the train loader, e.g.
    ``'num_workers=2, '`` (a second ``train_dataloader = ...`` line in
    ``extra`` would replace the tiny-data settings instead of merging).
    """
    from mmengine.config import Config
    base_path = osp.join(REPO, 'configs', base)
    base_cfg = Config.fromfile(base_path, import_custom_modules=False)
    demo = f'dict(data_root={data_root!r}, sizes=_sizes)'
    best = (", checkpoint=dict(save_best='emotion/waf', rule='greater')"
            if keep_best else '')
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
default_hooks = dict(logger=dict(interval=5){best})
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


class FileServer:
    """Serves ``folder`` over HTTP on 127.0.0.1 (port 0) inside ``with``."""

    def __init__(self, folder: str) -> None:
        from functools import partial
        from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass
        self.server = ThreadingHTTPServer(
            ('127.0.0.1', 0), partial(Quiet, directory=folder))
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'

    def __enter__(self) -> 'FileServer':
        import threading
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class MaliciousPickle:
    """Pickles as ``os.system('touch MARKER')``: the classic payload."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def disk_full(nbytes: int, only: str = ''):
    """Patch the package's atomic writer so that files whose name contains
    ``only`` stop with ENOSPC after ``nbytes`` bytes (a full disk mid-write).
    Returns the ``unittest.mock.patch`` context manager."""
    import errno
    from unittest import mock

    from mer_toolbox.fileio import atomic
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(data[:nbytes])
            raise OSError(errno.ENOSPC, 'No space left on device')

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def fdopen(fd, *args, **kwargs):
        name = osp.basename(os.readlink(f'/proc/self/fd/{fd}'))
        f = real_fdopen(fd, *args, **kwargs)
        return FullDisk(f) if only in name else f
    return mock.patch.object(atomic.os, 'fdopen', fdopen)


#: the classes of :func:`make_npz`
ARRAY_CLASSES = ['calm', 'happy', 'sad']


def make_npz(path, n=(30, 12, 12), dims=(6, 4), seed=0):
    """An ``.npz`` for ``from_arrays``: two modalities whose first feature
    carries the class (learnable) and an ``actor`` column (4 actors)."""
    rng = np.random.default_rng(seed)
    arrays = dict(classes=np.array(ARRAY_CLASSES),
                  modalities=np.array(['audio', 'video']))
    for split, count in zip(('train', 'val', 'test'), n):
        y = np.arange(count) % len(ARRAY_CLASSES)
        arrays[f'{split}__y'] = y
        arrays[f'{split}__names'] = np.array([f'{split}-{i}'
                                              for i in range(count)])
        arrays[f'{split}__actor'] = (np.arange(count) % 4) + 1
        for m, d in zip(('audio', 'video'), dims):
            x = rng.normal(size=(count, d)).astype(np.float32)
            x[:, 0] += 3 * y
            arrays[f'{split}__{m}'] = x
    np.savez(path, **arrays)
    return arrays
