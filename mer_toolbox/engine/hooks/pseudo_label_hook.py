"""Stage-1 semi-supervision: pseudo-label the unlabelled pool each epoch."""
import json
import os.path as osp
from typing import Optional

import numpy as np
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...registry import HOOKS
from .pool_scoring import PoolScorer
from .pseudo_label_selection import (THRESHOLD_MODES, adaptive_thresholds,
                                     check_selection_args,
                                     select_pseudo_labels)


def find_semi_supervised(dataset):
    """The :class:`SemiSupervisedDataset` inside a (wrapped) train dataset."""
    if hasattr(dataset, 'active_indices') and hasattr(dataset, 'table'):
        return dataset
    for attr in ('dataset', 'datasets'):
        inner = getattr(dataset, attr, None)
        for d in inner if isinstance(inner, (list, tuple)) else [inner]:
            if d is not None:
                found = find_semi_supervised(d)
                if found is not None:
                    return found
    return None


@HOOKS.register_module()
class PseudoLabelHook(Hook):
    """Pseudo-label the unlabelled pool once training has warmed up.

    The train dataset must be a ``SemiSupervisedDataset`` sampled by
    ``SemiSupervisedSampler``: the labels written to its side table are used
    from the next epoch on. Prediction runs in eval mode without gradients,
    each rank scoring a contiguous shard of the pool that is then gathered,
    so every rank applies the same selection. The table and the hook's
    start state are saved in checkpoints and restored on resume (a changed
    pool is an error).

    When rounds start (the first rule that applies):

    * ``start_on_plateau=k``: once the validation ``monitor`` has not
      improved for ``k`` validations (the supervised model has converged);
    * ``warmup_ratio=r``: after ``ceil(r * max_epochs)`` epochs;
    * else after ``cold_start`` epochs.

    Then a round runs every ``interval`` epochs.

    Args:
        cold_start: epochs trained on labelled data only before the first
            round (when neither rule above is set).
        interval: epochs between rounds after that.
        threshold: confidence threshold in ``(0, 1]``; the fixed bar, and
            FlexMatch's upper bound.
        threshold_mode: ``'fixed'``, or per-class adaptive thresholds
            recomputed from the pool every round: ``'freematch'`` /
            ``'flexmatch'`` (see :func:`adaptive_thresholds`).
        max_per_class: optional cap of pseudo-labels per class.
        class_balanced_ratio: optional per-class fraction (see
            :func:`select_pseudo_labels`).
        weighting: ``'hard'`` or ``'confidence'`` loss weights for the
            pseudo-labelled clips (applied in CE and BDCL).
        batch_size: clips per forward pass while scoring the pool.
        warmup_ratio: start after this fraction of ``max_epochs``.
        start_on_plateau: start once validation stalled this many times.
        monitor: the validation metric ``start_on_plateau`` watches
            (greater is better).
        use_ema: score the pool with the exponential moving average of the
            weights kept by MMEngine's ``EMAHook`` (smoother, better
            calibrated teacher; the hook must be in ``custom_hooks``).
    """

    priority = 'NORMAL'  # before CheckpointHook saves the new table

    def __init__(self, cold_start: int = 5, interval: int = 1,
                 threshold: float = 0.9, threshold_mode: str = 'fixed',
                 max_per_class: Optional[int] = None,
                 class_balanced_ratio: Optional[float] = None,
                 weighting: str = 'hard', batch_size: int = 2048,
                 warmup_ratio: Optional[float] = None,
                 start_on_plateau: Optional[int] = None,
                 monitor: str = 'emotion/waf',
                 use_ema: bool = False) -> None:
        if cold_start < 1 or interval < 1:
            raise ValueError('cold_start and interval must be >= 1')
        if warmup_ratio is not None and not 0.0 < warmup_ratio < 1.0:
            raise ValueError(f'warmup_ratio must be in (0, 1), got '
                             f'{warmup_ratio}')
        if start_on_plateau is not None and start_on_plateau < 1:
            raise ValueError(f'start_on_plateau must be >= 1, got '
                             f'{start_on_plateau}')
        if threshold_mode not in THRESHOLD_MODES:
            raise ValueError(f'threshold_mode must be one of '
                             f'{THRESHOLD_MODES}, got {threshold_mode!r}')
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        check_selection_args(threshold, max_per_class, class_balanced_ratio,
                             weighting)
        self.cold_start, self.interval = cold_start, interval
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.select_kwargs = dict(max_per_class=max_per_class,
                                  class_balanced_ratio=class_balanced_ratio,
                                  weighting=weighting)
        self.batch_size = batch_size
        self.warmup_ratio = warmup_ratio
        self.start_on_plateau = start_on_plateau
        self.monitor = monitor
        self.use_ema = use_ema
        self.dataset = None
        self.scorer: Optional[PoolScorer] = None
        # the checkpoint's table and state, applied in before_train once it
        # is known whether the run resumed (load_from starts afresh)
        self._loaded: Optional[dict] = None
        # epoch after which rounds begin (None: not decided yet), plateau
        # bookkeeping; all checkpointed so a resumed run decides the same
        self.state = dict(start=None, best=None, stalled=0)

    # ----------------------------------------------------------- lifecycle
    def before_run(self, runner) -> None:
        loader = runner.train_dataloader
        dataset = getattr(loader, 'dataset', None)
        if dataset is None:  # an unbuilt loader config (test-only runs)
            return
        self.dataset = find_semi_supervised(dataset)
        if self.dataset is None:
            raise TypeError('PseudoLabelHook needs the train dataset to be a '
                            'SemiSupervisedDataset (labelled + unlabelled)')
        self.scorer = PoolScorer(self.dataset.pool, self.batch_size)
        if self.use_ema:
            self.ema_hook(runner)  # fail now, not after the warm-up

    def before_train(self, runner) -> None:
        # After load_or_resume, and only when training. A resumed run starts
        # past iteration 0 (MMEngine restored the loop's counters); a fresh
        # or load_from run starts at 0 and keeps an empty table.
        if self._loaded is not None and runner.iter > 0:
            if 'pseudo_labels' in self._loaded:
                self.dataset.table.load_state_dict(
                    self._loaded['pseudo_labels'])
            if 'pseudo_label_hook' in self._loaded:
                self.state.update(self._loaded['pseudo_label_hook'])
        self._loaded = None
        if self.start_on_plateau is not None and \
                getattr(runner, 'val_loop', None) is None:
            raise ValueError(
                'PseudoLabelHook(start_on_plateau=...) waits for validation, '
                'but this run has none (val_cfg / val_dataloader unset): use '
                'warmup_ratio or cold_start, or tools/cross_validate.py, whose '
                'members validate on their held-out fold')
        if self.state['start'] is None and self.start_on_plateau is None:
            self.state['start'] = self.cold_start
            if self.warmup_ratio is not None:
                self.state['start'] = max(1, int(np.ceil(
                    self.warmup_ratio * runner.max_epochs)))

    def after_train_epoch(self, runner) -> None:
        finished = runner.epoch + 1
        start = self.state['start']
        if start is None or finished < start or \
                (finished - start) % self.interval:
            return
        scores = self.score_pool(runner)
        thresholds = adaptive_thresholds(scores, self.threshold_mode,
                                         self.threshold)
        sel = select_pseudo_labels(scores, thresholds,
                                   excluded=self.dataset.excluded,
                                   **self.select_kwargs)
        self.dataset.table.update(sel['labels'], sel['weights'],
                                  sel['confidence'])
        self.log_round(runner, sel, finished, thresholds)

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        """Start rounds once the monitored validation metric stalls."""
        if self.start_on_plateau is None or self.state['start'] is not None \
                or not metrics:
            return
        if self.monitor not in metrics:
            raise KeyError(f'PseudoLabelHook monitors {self.monitor!r}, but '
                           f'validation reports {sorted(metrics)}')
        value = float(metrics[self.monitor])
        if self.state['best'] is None or value > self.state['best']:
            self.state.update(best=value, stalled=0)
            return
        self.state['stalled'] += 1
        if self.state['stalled'] >= self.start_on_plateau:
            # validation runs after the epoch: the next epoch ends a round
            self.state['start'] = runner.epoch + 1
            runner.logger.info(
                f'PseudoLabelHook: {self.monitor} stalled for '
                f'{self.state["stalled"]} validations (best '
                f'{self.state["best"]:.4f}); pseudo-labelling from epoch '
                f'{self.state["start"]} on')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.dataset is not None:
            checkpoint['pseudo_labels'] = self.dataset.table.state_dict()
            checkpoint['pseudo_label_hook'] = dict(self.state)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Called for resume and load_from alike, before MMEngine restores
        # the loop's counters: keep the state until before_train tells them
        # apart (only a resumed run continues the old table).
        if self.dataset is not None:
            self._loaded = {k: checkpoint[k] for k in
                            ('pseudo_labels', 'pseudo_label_hook')
                            if k in checkpoint}

    def ema_hook(self, runner):
        """MMEngine's ``EMAHook`` of this runner (``use_ema=True``)."""
        for hook in runner.hooks:
            if type(hook).__name__ == 'EMAHook':
                return hook
        raise RuntimeError("PseudoLabelHook(use_ema=True) needs "
                           "dict(type='EMAHook') in custom_hooks")

    # ------------------------------------------------------------- scoring
    def score_pool(self, runner) -> np.ndarray:
        """Class probabilities ``(P, C)`` of the whole pool, on every rank."""
        if self.use_ema:
            model = self.ema_hook(runner).ema_model.module
        else:
            model = runner.model.module if is_model_wrapper(runner.model) \
                else runner.model
        return self.scorer(model)

    # ------------------------------------------------------------- logging
    def log_round(self, runner, sel: dict, epoch: int,
                  thresholds: np.ndarray) -> None:
        classes = list(self.dataset.metainfo['classes'])
        labels = sel['labels']
        chosen = labels >= 0
        record = dict(epoch=epoch, selected=int(chosen.sum()),
                      pool=int(len(labels)),
                      mean_confidence=float(sel['confidence'][chosen].mean())
                      if chosen.any() else 0.0,
                      per_class={c: int((labels == i).sum())
                                 for i, c in enumerate(classes)},
                      thresholds={c: round(float(t), 4)
                                  for c, t in zip(classes, thresholds)})
        hidden = getattr(self.dataset.pool, 'hidden_labels', None)
        if hidden is not None:
            hit = (hidden == labels) & chosen
            record['precision'] = float(hit.sum() / max(chosen.sum(), 1))
            record['per_class_precision'] = {
                c: (float(hit[labels == i].mean()) if (labels == i).any()
                    else None) for i, c in enumerate(classes)}
        hub = runner.message_hub
        hub.update_scalar('pseudo/selected', record['selected'])
        hub.update_scalar('pseudo/mean_confidence', record['mean_confidence'])
        if 'precision' in record:
            hub.update_scalar('pseudo/precision', record['precision'])
        runner.logger.info(f'PseudoLabelHook epoch {epoch}: '
                           f'{json.dumps(record)}')
        if is_main_process():
            with open(osp.join(runner.work_dir, 'pseudo_labels.jsonl'), 'a',
                      encoding='utf-8') as f:
                f.write(json.dumps(record) + '\n')
