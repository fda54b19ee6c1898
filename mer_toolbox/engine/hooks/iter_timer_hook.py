"""MMEngine's IterTimerHook with an ETA that follows a growing epoch."""
from typing import Optional

from mmengine.hooks import IterTimerHook as MMEngineIterTimerHook

from ...registry import HOOKS


@HOOKS.register_module(name='IterTimerHook')
class EpochAwareIterTimerHook(MMEngineIterTimerHook):
    """``IterTimerHook`` (same arguments) registered under the same name in
    mer_toolbox's scope, so every config's ``type='IterTimerHook'`` gets it.

    MMEngine's ETA is ``mean iteration time * (runner.max_iters - iter)``,
    and an epoch-based loop fixes ``max_iters`` from the first epoch's
    length. Once pseudo-labelled clips join the training set every epoch has
    more iterations, the ETA shrinks too fast and then turns negative
    (``eta: -1 day, 23:57:55``). Here the remaining iterations are counted
    from the epoch being trained: what is left of it plus the remaining
    epochs at its length (an estimate that grows with the pool, never a
    negative one). Iteration-based loops keep MMEngine's formula.
    """

    def _after_iter(self, runner, batch_idx: int,
                    data_batch: Optional[dict] = None, outputs=None,
                    mode: str = 'train') -> None:
        super()._after_iter(runner, batch_idx, data_batch, outputs, mode)
        loop = runner.train_loop
        if mode != 'train' or not hasattr(loop, 'max_epochs'):
            return
        per_epoch = len(loop.dataloader)
        remaining = (per_epoch - batch_idx - 1) + max(
            loop.max_epochs - loop.epoch - 1, 0) * per_epoch
        time_sec_avg = self.time_sec_tot / (runner.iter - self.start_iter + 1)
        runner.message_hub.update_info('eta', time_sec_avg * max(remaining, 0))
