"""Report each validation epoch to an Optuna trial; stop the run when the
pruner says so."""
from typing import List, Optional

from mmengine.hooks import Hook


class OptunaPruningHook(Hook):
    """Feed the per-epoch validation metric to an Optuna trial.

    Built by ``tools/sweep.py`` around a live trial (so it is not a config
    component). After every validation epoch it calls
    ``trial.report(value, epoch)`` and, when ``prune`` and the study's
    pruner (median pruner) decides so, raises ``optuna.TrialPruned``, which
    ends the run and marks the trial pruned.

    Args:
        trial: the ``optuna.Trial`` being run.
        metric: validation key, e.g. ``'emotion/waf'``.
        prune: ask the pruner (``False``: only record the values).
    """

    priority = 'LOW'  # after the checkpoint hook has seen the same epoch

    def __init__(self, trial, metric: str = 'emotion/waf',
                 prune: bool = True) -> None:
        self.trial = trial
        self.metric = metric
        self.prune = prune
        self.values: List[float] = []

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if not metrics or self.metric not in metrics:
            raise KeyError(f'the sweep metric {self.metric!r} is not among '
                           f'the validation metrics {sorted(metrics or {})}; '
                           'pass --metric')
        value = float(metrics[self.metric])
        self.values.append(value)
        self.trial.report(value, runner.epoch)
        if self.prune and self.trial.should_prune():
            import optuna
            raise optuna.TrialPruned(f'{self.metric}={value:.4f} at epoch '
                                     f'{runner.epoch} is below the median')
