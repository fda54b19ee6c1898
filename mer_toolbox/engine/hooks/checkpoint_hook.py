"""MMEngine's CheckpointHook with a work dir that can move and a stable
name for the best checkpoint."""
import os
import os.path as osp
import shutil
from contextlib import nullcontext

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook

from ...registry import HOOKS
from ...fileio.atomic import write_bytes_atomic
from ...utils.log_filters import muted_messages
from .. import atomic_backend  # noqa: F401  (checkpoint files: all-or-nothing)
from ..stage_checkpoint import (BEST_CHECKPOINT, LAST_CHECKPOINT,
                                read_last_checkpoint)


@HOOKS.register_module(name='CheckpointHook')
class RelocatableCheckpointHook(MMEngineCheckpointHook):
    """``CheckpointHook`` (same arguments) registered under the same name in
    mer_toolbox's scope, so every config's ``type='CheckpointHook'`` gets it.

    Differences from MMEngine's:

    * checkpoint files are written to a temporary name, fsynced and renamed
      (:mod:`..atomic_backend`): a full disk leaves no torn ``.pth`` under a
      valid name, and the ``OSError`` names the file;
    * ``last_checkpoint`` holds the checkpoint's name *relative to the work
      dir* (MMEngine writes an absolute path), written atomically;
    * ``before_run`` of a ``resume=True`` run without ``load_from`` resolves
      that name inside the current work dir, so a moved or copied work dir
      resumes (an older absolute path falls back to its file name there);
      the best checkpoint's path is relocated the same way, so a resumed
      copy never deletes the original folder's best file;
    * with ``save_best``, ``best.pth`` next to the best checkpoint always
      names it (a relative symlink, a copy where links are not allowed),
      replaced atomically whenever the best changes, so docs, stage 2 and
      ``tools/test.py CONFIG best`` never spell ``best_<metric>_epoch_N.pth``.
      With several ``save_best`` keys it follows the first one;
    * MMEngine builds a deprecated ``FileClient`` it never uses when
      ``file_client_args`` is unset (before training and in every save),
      warning about it on every run; that warning is dropped then (kept
      when you do pass ``file_client_args``).
    """

    def _unused_client_muted(self):
        if self.file_client_args is not None:
            return nullcontext()
        return muted_messages('"FileClient" will be deprecated',
                              '"HardDiskBackend" is the alias')

    def before_train(self, runner) -> None:
        with self._unused_client_muted():
            super().before_train(runner)
        # A resumed run restores the best checkpoint's path as the earlier
        # run saved it; in a moved or copied work dir that is the *old*
        # folder, whose file MMEngine would delete when the best improves.
        if getattr(self, 'best_ckpt_path', None):
            self.best_ckpt_path = self._relocated(self.best_ckpt_path)
            runner.message_hub.update_info('best_ckpt', self.best_ckpt_path)
        for key, path in getattr(self, 'best_ckpt_path_dict', {}).items():
            if path:
                self.best_ckpt_path_dict[key] = self._relocated(path)
                runner.message_hub.update_info(f'best_ckpt_{key}',
                                               self.best_ckpt_path_dict[key])

    def _relocated(self, path: str) -> str:
        here = osp.join(self.out_dir, osp.basename(path))
        return here if osp.isfile(here) else path

    def before_run(self, runner) -> None:
        super().before_run(runner)
        if runner._resume and runner._load_from is None:
            # MMEngine would read last_checkpoint relative to the cwd
            runner._load_from = read_last_checkpoint(runner.work_dir)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        with self._unused_client_muted():
            super()._save_checkpoint_with_step(runner, step, meta)
        if not is_main_process() or self.last_ckpt is None:
            return
        name = osp.relpath(self.last_ckpt, runner.work_dir)
        if name.startswith('..'):
            name = self.last_ckpt  # out_dir outside the work dir
        write_bytes_atomic(osp.join(runner.work_dir, LAST_CHECKPOINT),
                           name.encode('utf-8'))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        before = self._best_path()
        with self._unused_client_muted():
            super()._save_best_checkpoint(runner, metrics)
        best = self._best_path()
        if best and best != before and is_main_process():
            link_best_checkpoint(best)

    def _best_path(self):
        if len(getattr(self, 'key_indicators', [])) > 1:
            return self.best_ckpt_path_dict.get(self.key_indicators[0])
        return getattr(self, 'best_ckpt_path', None)


def link_best_checkpoint(best: str) -> str:
    """Point ``best.pth`` (next to ``best``) at ``best``; return its path.

    The link is made under a temporary name and renamed over the old one
    once the new best file is complete, so ``best.pth`` never names a
    half-written file. A file system without symlinks gets an (atomically
    renamed) copy.
    """
    folder = osp.dirname(osp.abspath(best))
    link = osp.join(folder, BEST_CHECKPOINT)
    tmp = osp.join(folder, f'.tmp-{os.getpid()}-{BEST_CHECKPOINT}')
    if osp.lexists(tmp):
        os.remove(tmp)
    try:
        os.symlink(osp.basename(best), tmp)
    except OSError:
        shutil.copyfile(best, tmp)
    os.replace(tmp, link)
    return link
