"""The MMEngine metric for discrete emotion recognition."""
import json
import logging
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from mmengine.utils import mkdir_or_exist

from ...constants import MER2024_CLASSES
from ...registry import METRICS
from ..functional import (emotion_metrics, format_metric_table,
                          write_predictions_csv)


def _to_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _key_suffix(class_name: str) -> str:
    """A class name made safe for a log key (``/`` would nest the key)."""
    return re.sub(r'[^0-9A-Za-z_-]+', '_', str(class_name))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


@METRICS.register_module()
class EmotionMetric(BaseMetric):
    """WAF, accuracy, macro-F1, UAR and per-class recall of emotion predictions.

    Scores come from :func:`~mer_toolbox.evaluation.functional.emotion_metrics`
    (semantics and the percent scale are documented there). Only clips with
    ``gt_label >= 0`` are scored; unlabelled clips (``-1``, e.g. the MER test
    set) are still kept as predictions. With no labelled clip at all,
    ``compute_metrics`` returns no scores.

    Logged keys (prefixed ``emotion/`` by MMEngine): ``waf``, ``accuracy``,
    ``macro_f1``, ``uar`` (percent, 0-100), ``recall_<class>`` for every class,
    and ``prior_fallback_count`` when any sample carried
    ``used_prior_fallback``. No key contains ``loss`` (MMEngine treats such
    keys as losses).

    After ``compute_metrics`` the full result is in :attr:`last_report` (plain
    Python / numpy): ``class_names``, ``metrics`` (the scalars above),
    ``per_class``, ``confusion_matrix``, ``num_samples``, ``num_labelled``,
    ``names``, ``gt_labels`` ``(N,)``, ``pred_labels`` ``(N,)``,
    ``pred_scores`` ``(N, C)``, ``used_prior_fallback`` ``(N,)`` bool or
    None, ``modality_weights`` ``(N, M)`` or None. Under DDP MMEngine gathers
    the results on rank 0 and computes there, so ``last_report`` (and the
    dump methods) exist on rank 0 only; on other ranks it stays ``None``.

    Args:
        print_table (bool): print the per-class table and confusion matrix
            through the current logger. Defaults to True.
        collect_device (str): where results are gathered under DDP
            (``'cpu'`` or ``'gpu'``). Defaults to ``'cpu'``.
        prefix (str, optional): key prefix; defaults to ``'emotion'``.
        collect_dir (str, optional): temp dir for ``collect_device='cpu'``.
    """

    default_prefix: Optional[str] = 'emotion'

    def __init__(self, print_table: bool = True, collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        self.print_table = print_table
        self.last_report: Optional[Dict[str, Any]] = None

    # ------------------------------------------------------------ collect
    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Keep name, label and scores of each sample, as CPU numpy.

        Args:
            data_batch: the loader's batch (unused).
            data_samples: :class:`EmotionSample` objects or their ``to_dict()``
                forms (MMEngine's ``Evaluator`` passes dicts).
        """
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            name = sample.get('name')
            if 'pred_score' not in sample:
                raise KeyError(f'sample {name!r} has no pred_score; EmotionMetric '
                               'needs the head to call EmotionSample.set_pred')
            gt = sample.get('gt_label')
            result = dict(
                name=name,
                gt_label=-1 if gt is None else int(_to_numpy(gt).reshape(-1)[0]),
                # float32 halves what DDP has to gather, probabilities need no more.
                pred_score=_to_numpy(sample['pred_score']).astype(np.float32).reshape(-1))
            if 'used_prior_fallback' in sample:
                result['used_prior_fallback'] = bool(sample['used_prior_fallback'])
            if sample.get('modality_weights') is not None:
                result['modality_weights'] = _to_numpy(
                    sample['modality_weights']).astype(np.float32).reshape(-1)
            self.results.append(result)

    # ------------------------------------------------------------ compute
    def _class_names(self) -> List[str]:
        meta = self.dataset_meta or {}
        return [str(c) for c in meta.get('classes', MER2024_CLASSES)]

    def _stack_scores(self, results: List[dict], num_classes: int,
                      source: str) -> np.ndarray:
        lengths = {r['pred_score'].shape[0] for r in results}
        if lengths != {num_classes}:
            odd = next(r for r in results if r['pred_score'].shape[0] != num_classes)
            raise ValueError(
                f'pred_score of sample {odd["name"]!r} has {odd["pred_score"].shape[0]} '
                f'entries but there are {num_classes} classes ({source}); '
                'set the dataset metainfo classes to match the head')
        scores = np.stack([r['pred_score'] for r in results])  # (N, C)
        bad = ~np.isfinite(scores).all(axis=1)
        if bad.any():
            names = [results[i]['name'] for i in np.flatnonzero(bad)[:5]]
            raise ValueError(f'{int(bad.sum())} samples have NaN/Inf pred_score, e.g. {names}')
        return scores

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Score the labelled samples; keep every sample in :attr:`last_report`.

        Args:
            results: the per-sample dicts made by :meth:`process` (all ranks).

        Returns:
            Scalar metrics (keys in the class doc); ``{}`` when no sample is
            labelled (plus ``prior_fallback_count`` if flags were present).

        Raises:
            ValueError: when score length and class count differ, a label is
                outside ``[-1, C)``, or a score is not finite.
        """
        if not results:
            raise ValueError('EmotionMetric got no results; did the loop call process()?')
        class_names = self._class_names()
        source = ('dataset_meta["classes"]' if self.dataset_meta and 'classes' in self.dataset_meta
                  else 'MER2024_CLASSES fallback: dataset_meta has no "classes"')
        num_classes = len(class_names)
        scores = self._stack_scores(results, num_classes, source)  # (N, C)
        gt = np.array([r['gt_label'] for r in results], dtype=np.int64)  # (N,)
        pred = scores.argmax(axis=1)  # (N,)
        if ((gt < -1) | (gt >= num_classes)).any():
            raise ValueError(f'gt_label outside [-1, {num_classes}) for classes {class_names}: '
                             f'{sorted(set(gt[(gt < -1) | (gt >= num_classes)].tolist()))}')

        labelled = gt >= 0
        metrics: Dict[str, float] = {}
        report = None
        if labelled.any():
            report = emotion_metrics(gt[labelled], pred[labelled], num_classes)
            metrics = {k: report[k] for k in ('waf', 'accuracy', 'macro_f1', 'uar')}
            for name, recall in zip(class_names, report['per_class']['recall']):
                metrics[f'recall_{_key_suffix(name)}'] = float(recall)
        else:
            print_log(f'EmotionMetric: none of {len(results)} samples is labelled; '
                      'no scores, predictions kept', logger='current', level=logging.WARNING)

        fallback = None
        if any('used_prior_fallback' in r for r in results):
            # A sample without the flag did not go through the prior branch's fallback.
            fallback = np.array([r.get('used_prior_fallback', False) for r in results])
            metrics['prior_fallback_count'] = int(fallback.sum())
            print_log(_fallback_message(int(fallback.sum()), len(results)),
                      logger='current')
        loss_keys = [k for k in metrics if 'loss' in k]
        if loss_keys:
            raise ValueError(f'metric keys {loss_keys} contain "loss" (from class names '
                             f'{class_names}); MMEngine would log them as losses')

        weights = [r.get('modality_weights') for r in results]
        same_shape = all(w is not None for w in weights) and len({w.shape for w in weights}) == 1
        self.last_report = dict(
            class_names=class_names,
            metrics=dict(metrics),
            per_class=None if report is None else report['per_class'],
            confusion_matrix=None if report is None else report['confusion_matrix'],
            num_samples=len(results),
            num_labelled=int(labelled.sum()),
            names=[r['name'] for r in results],
            gt_labels=gt,
            pred_labels=pred,
            pred_scores=scores,
            used_prior_fallback=fallback,
            modality_weights=np.stack(weights) if same_shape else None,
        )
        if report is not None and self.print_table:
            print_log('\n' + format_metric_table(report, class_names), logger='current')
        return metrics

    # ------------------------------------------------------------ dump
    def _require_report(self) -> Dict[str, Any]:
        if self.last_report is None:
            raise RuntimeError('no report yet: run evaluation first (under DDP the '
                               'report exists on rank 0 only)')
        return self.last_report

    def dump_predictions_csv(self, path: str) -> None:
        """Write ``name,discrete,<class_1>,...,<class_C>``, one row per sample.

        ``discrete`` is the predicted class name (the MER submission column),
        followed by the class probabilities. Unlabelled samples are included.

        Raises:
            RuntimeError: before the first evaluation.
            ValueError: if a sample has no ``name`` in its metainfo.
        """
        report = self._require_report()
        missing = [i for i, n in enumerate(report['names']) if not n]
        if missing:
            raise ValueError(f'{len(missing)} samples have no name (first at index '
                             f'{missing[0]}); set metainfo "name" in the dataset')
        write_predictions_csv(path, report['names'], report['pred_scores'],
                              report['class_names'])

    def dump_report_json(self, path: str, include_predictions: bool = False) -> None:
        """Write the report as JSON (numpy converted to lists).

        Per-class values are keyed by class name. Per-sample arrays (names,
        labels, scores, fallback flags, modality weights) are written only
        with ``include_predictions=True``; the CSV is the usual place for them.
        """
        report = self._require_report()
        out = {k: report[k] for k in ('class_names', 'metrics', 'confusion_matrix',
                                      'num_samples', 'num_labelled')}
        if report['per_class'] is not None:
            out['per_class'] = {
                name: {k: v[c] for k, v in report['per_class'].items()}
                for c, name in enumerate(report['class_names'])}
        if include_predictions:
            out.update({k: report[k] for k in ('names', 'gt_labels', 'pred_labels', 'pred_scores',
                                               'used_prior_fallback', 'modality_weights')})
        mkdir_or_exist(osp.dirname(osp.abspath(path)))
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(_jsonable(out), f, indent=2)


def _fallback_message(count: int, total: int) -> str:
    """How many clips the prior branch scored without their prior."""
    if count == total:
        return (f'prior fallback: all {total} clips were predicted without a '
                'prior (drop_priors_at_test=True, or no clip has one): these '
                'are teacher-free scores')
    return (f'prior fallback: {count} of {total} clips were predicted '
            'without a prior (missing or unusable)')

