"""Hyper-parameter search on Optuna: the study, the objective, the summary.

Optuna is the search engine (TPE sampler, median pruner, storage); this
module only turns a trial into an ordinary training run of the config with
the trial's values and reads back the validation metric.
"""
import json
import os
import os.path as osp
import time
from typing import Callable, Optional

import numpy as np
from mmengine.config import Config

from .pruning import OptunaPruningHook
from .search_space import apply_params, suggest

FINISHED_STATES = ('COMPLETE', 'PRUNED')


def storage_url(study_dir: str, storage: Optional[str] = None) -> str:
    """``storage``, or the SQLite file ``<study_dir>/study.db``."""
    if storage:
        return storage
    os.makedirs(study_dir, exist_ok=True)
    return f'sqlite:///{osp.abspath(osp.join(study_dir, "study.db"))}'


def _shown(url: str) -> str:
    """The URL with any password masked (it goes into error messages)."""
    try:
        from sqlalchemy.engine import make_url
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even parseable: the error says so anyway
        return url


def open_study(url: str, study_name: str, direction: str = 'maximize',
               seed: Optional[int] = None, n_startup_trials: int = 5,
               n_warmup_steps: int = 0):
    """Create or load the study (TPE sampler, median pruner) at ``url``.

    Trials of a killed worker are failed by Optuna's heartbeat after
    ``grace_period`` and retried once with the same parameters.

    Raises:
        ConnectionError: the storage cannot be reached or opened.
    """
    import warnings

    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
    try:
        with warnings.catch_warnings():  # heartbeats are 'experimental'
            warnings.simplefilter('ignore', optuna.exceptions.ExperimentalWarning)
            storage = RDBStorage(
                url, heartbeat_interval=30, grace_period=120,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                    max_retry=1))
    except Exception as exc:
        raise ConnectionError(f'--storage {_shown(url)!r} cannot be reached '
                              f'or opened: {type(exc).__name__}: '
                              f'{str(exc).splitlines()[0]}') from exc
    return optuna.create_study(
        storage=storage, study_name=study_name, direction=direction,
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials,
                                           n_warmup_steps=n_warmup_steps),
        load_if_exists=True)


def count_finished(study) -> int:
    return sum(t.state.name in FINISHED_STATES for t in study.trials)


def run_study(study, objective: Callable, n_trials: int) -> None:
    """Run trials until the study holds ``n_trials`` finished ones.

    Several workers may call this on one study; each stops once the total
    is reached (a worker may finish the trial it already started).
    """
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState
    remaining = n_trials - count_finished(study)
    if remaining <= 0:
        return
    study.optimize(objective, n_trials=remaining, callbacks=[
        MaxTrialsCallback(n_trials, states=(TrialState.COMPLETE,
                                            TrialState.PRUNED))])


class TrainingObjective:
    """An Optuna objective: the config with the trial's values, trained as
    an ordinary run in ``<study_dir>/trial_<number>``.

    Args:
        cfg: the config (``search_space`` validated).
        space: the search space.
        study_dir: parent of the trial work dirs.
        metric: validation key to optimise.
        direction: ``'maximize'`` or ``'minimize'``.
        prune: report epochs to the pruner.
        cross_validate: ``None`` (objective = the validation value of the
            model one run keeps: its best epoch's with ``save_best``, else
            its last epoch's), or a callable ``(cfg, work_dir, trial) -> float`` that runs
            a cross-validation and returns its mean held-out score.
    """

    def __init__(self, cfg: Config, space: dict, study_dir: str,
                 metric: str = 'emotion/waf', direction: str = 'maximize',
                 prune: bool = True,
                 cross_validate: Optional[Callable] = None) -> None:
        self.cfg = cfg
        self.space = space
        self.study_dir = osp.abspath(study_dir)
        self.metric = metric
        self.direction = direction
        self.prune = prune
        self.cross_validate = cross_validate

    def __call__(self, trial) -> float:
        params = suggest(trial, self.space)
        cfg = apply_params(self.cfg, params)
        work_dir = osp.join(self.study_dir, f'trial_{trial.number}')
        trial.set_user_attr('work_dir', work_dir)
        trial.set_user_attr('pid', os.getpid())
        if self.cross_validate is not None:
            return self.cross_validate(cfg, work_dir, trial)
        return self._train(cfg, work_dir, trial)

    def _train(self, cfg: Config, work_dir: str, trial) -> float:
        from ..engine.runner import build_runner
        from ..engine.stage_checkpoint import keeps_best_checkpoint
        cfg.work_dir = work_dir
        # several runs in one process: a unique name keeps MMEngine's named
        # singletons (logger, message hub, visualizer) apart
        cfg.experiment_name = f'trial_{trial.number}_{time.time_ns()}'
        runner = build_runner(cfg)
        hook = OptunaPruningHook(trial, self.metric, self.prune)
        runner.register_hook(hook)
        runner.train()
        if not hook.values:
            raise RuntimeError(f'trial {trial.number} ran no validation epoch '
                               '(check train_cfg.val_interval)')
        if not keeps_best_checkpoint(cfg):
            return hook.values[-1]  # the run's result is its final model
        pick = max if self.direction == 'maximize' else min
        return pick(hook.values)


def summarize_study(study, cfg: Config, out_dir: str) -> dict:
    """Dump the best trial as a ready-to-run config, the trial table, a
    summary and Optuna's history / importance plots (PNG).

    Writes ``best_config.py``, ``trials.csv``, ``summary.json`` and
    ``optimization_history.png`` / ``param_importances.png`` (the latter
    needs two complete trials) into ``out_dir``.

    Returns:
        The summary (best number, value, params; trial counts).
    """
    from optuna.trial import TrialState
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    counts = {}
    for t in study.trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    summary = dict(study=study.study_name, direction=study.direction.name,
                   trials=counts)
    study.trials_dataframe().to_csv(osp.join(out_dir, 'trials.csv'),
                                    index=False)
    if complete:
        best = study.best_trial
        summary.update(best_trial=best.number, best_value=best.value,
                       best_params=best.params,
                       best_work_dir=best.user_attrs.get('work_dir'))
        best_cfg = apply_params(cfg, best.params)
        best_cfg.pop('work_dir', None)
        best_cfg.dump(osp.join(out_dir, 'best_config.py'))
        values = np.array([t.value for t in complete], np.float64)
        summary['complete_values'] = dict(mean=float(values.mean()),
                                          max=float(values.max()),
                                          min=float(values.min()))
    summary['plots'] = _plots(study, out_dir, len(complete))
    with open(osp.join(out_dir, 'summary.json'), 'w', encoding='utf-8') as f:
        json.dump(summary, f, indent=2, default=str)
    return summary


def _plots(study, out_dir: str, num_complete: int) -> list:
    """Optuna's matplotlib history and importance plots, as PNG files."""
    import warnings

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as optuna_plots
    wanted = [('optimization_history.png', optuna_plots.plot_optimization_history, 1),
              ('param_importances.png', optuna_plots.plot_param_importances, 2)]
    written = []
    for name, plot, needed in wanted:
        if num_complete < needed:
            continue
        with warnings.catch_warnings():  # 'experimental' notices only
            warnings.simplefilter('ignore')
            ax = plot(study)
        ax.figure.savefig(osp.join(out_dir, name), dpi=120, bbox_inches='tight')
        plt.close(ax.figure)
        written.append(name)
    return written
