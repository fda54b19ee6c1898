"""MMEngine's CheckpointHook with a work dir that can move."""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook

from ...registry import HOOKS
from ...utils.fileio import write_bytes_atomic
from .. import atomic_backend  # noqa: F401  (checkpoint files: all-or-nothing)
from ..stage_checkpoint import LAST_CHECKPOINT, read_last_checkpoint


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
      resumes (an older absolute path falls back to its file name there).
    """

    def before_run(self, runner) -> None:
        super().before_run(runner)
        if runner._resume and runner._load_from is None:
            # MMEngine would read last_checkpoint relative to the cwd
            runner._load_from = read_last_checkpoint(runner.work_dir)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        super()._save_checkpoint_with_step(runner, step, meta)
        if not is_main_process() or self.last_ckpt is None:
            return
        name = osp.relpath(self.last_ckpt, runner.work_dir)
        if name.startswith('..'):
            name = self.last_ckpt  # out_dir outside the work dir
        write_bytes_atomic(osp.join(runner.work_dir, LAST_CHECKPOINT),
                           name.encode('utf-8'))
