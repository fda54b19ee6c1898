"""Find the checkpoint a stage starts from (a file or a work dir)."""
import glob
import os.path as osp
from typing import Mapping, Optional

from .checkpoint_sources import is_remote

LAST_CHECKPOINT = 'last_checkpoint'
#: Stable name of the best checkpoint (RelocatableCheckpointHook keeps it).
BEST_CHECKPOINT = 'best.pth'

def keeps_best_checkpoint(cfg: Mapping) -> bool:
    """Whether a run of ``cfg`` keeps a best-by-validation checkpoint
    (``default_hooks.checkpoint.save_best``) as its result; otherwise its
    result is the final model (the default recipe)."""
    hooks = cfg.get('default_hooks') or {}
    return bool((hooks.get('checkpoint') or {}).get('save_best'))


STAGE1_HINT = ('Train stage 1 first: python tools/train.py '
               'configs/bdcl_stage1.py (it saves to work_dirs/bdcl_stage1/), '
               'or run both stages with tools/train_two_stage.py, or point '
               'load_from at your stage-1 checkpoint.')


def resolve_checkpoint(path: str, hint: str = STAGE1_HINT) -> str:
    """A checkpoint file from ``path``: the file itself, or a work dir's best.

    A work dir resolves to its ``best.pth`` (the best checkpoint on the
    validation split, kept by ``CheckpointHook``), else to its newest
    ``best_*.pth`` (runs from before ``best.pth`` existed), else to the
    checkpoint its ``last_checkpoint`` file names. A URL / zoo name is returned as it
    is (the safe loader fetches it).

    Args:
        path: a ``.pth`` file or an MMEngine work dir.
        hint: appended to the error (how to produce the checkpoint).

    Raises:
        FileNotFoundError: no such file, or a work dir without checkpoints.
    """
    if osp.isdir(path):
        if osp.isfile(osp.join(path, BEST_CHECKPOINT)):
            return osp.join(path, BEST_CHECKPOINT)
        best = sorted(glob.glob(osp.join(path, 'best_*.pth')),
                      key=osp.getmtime)
        if best:
            return best[-1]
        last = read_last_checkpoint(path)
        if last is not None:
            return last
        raise FileNotFoundError(f'work dir {path!r} holds no checkpoint (no '
                                'best.pth, no best_*.pth, no valid '
                                'last_checkpoint). '
                                + hint)
    if is_remote(path):
        return path  # fetched and loaded by the safe loader
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist. ' + hint)
    return path


def read_last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint a work dir's ``last_checkpoint`` file names, or None.

    The file holds a name relative to the work dir (so a moved or copied
    work dir resumes); an absolute path written by an older run that no
    longer exists falls back to its file name inside ``work_dir``.
    """
    last_file = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(last_file):
        return None
    with open(last_file, encoding='utf-8') as f:
        name = f.read().strip()
    if not name:
        return None
    for candidate in (osp.join(work_dir, name),
                      osp.join(work_dir, osp.basename(name))):
        if osp.isfile(candidate):
            return candidate
    return None


def resolve_checkpoint_argument(arg: str, work_dir: str,
                                hint: str = '') -> str:
    """A tool's CHECKPOINT argument as a file: ``best`` / ``last`` name that
    checkpoint of ``work_dir`` (the config's work dir); a work dir or a file
    or URL goes through :func:`resolve_checkpoint`.

    Raises:
        FileNotFoundError: nothing to load, naming where it looked.
    """
    if arg == 'best' and not osp.exists(arg):
        return resolve_checkpoint(work_dir, hint)
    if arg == 'last' and not osp.exists(arg):
        last = read_last_checkpoint(work_dir)
        if last is None:
            raise FileNotFoundError(f'work dir {work_dir!r} has no valid '
                                    f'{LAST_CHECKPOINT} file. ' + hint)
        return last
    return resolve_checkpoint(arg, hint)
