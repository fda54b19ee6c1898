"""Find the checkpoint a stage starts from (a file or a work dir)."""
import glob
import os.path as osp

STAGE1_HINT = ('Train stage 1 first: python tools/train.py '
               'configs/bdcl_stage1.py (it saves to work_dirs/bdcl_stage1/), '
               'or run both stages with tools/train_two_stage.py, or point '
               'load_from at your stage-1 checkpoint.')


def resolve_checkpoint(path: str, hint: str = STAGE1_HINT) -> str:
    """A checkpoint file from ``path``: the file itself, or a work dir's best.

    A work dir resolves to its newest ``best_*.pth`` (MMEngine's
    ``save_best``, chosen on the validation split), else to the checkpoint
    its ``last_checkpoint`` file names.

    Args:
        path: a ``.pth`` file or an MMEngine work dir.
        hint: appended to the error (how to produce the checkpoint).

    Raises:
        FileNotFoundError: no such file, or a work dir without checkpoints.
    """
    if osp.isdir(path):
        best = sorted(glob.glob(osp.join(path, 'best_*.pth')),
                      key=osp.getmtime)
        if best:
            return best[-1]
        last_file = osp.join(path, 'last_checkpoint')
        if osp.isfile(last_file):
            with open(last_file, encoding='utf-8') as f:
                last = f.read().strip()
            if osp.isfile(last):
                return last
        raise FileNotFoundError(f'work dir {path!r} holds no checkpoint (no '
                                'best_*.pth, no valid last_checkpoint). '
                                + hint)
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist. ' + hint)
    return path
