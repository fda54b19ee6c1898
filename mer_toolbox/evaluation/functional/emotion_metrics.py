"""Discrete-emotion scores as pure numpy functions (no MMEngine needed).

Scale: every rate (WAF, accuracy, macro-F1, UAR, per-class recall / precision /
F1) is a **percentage in [0, 100]**, the way MER papers report them (84.70).
Pass ``percent=False`` for fractions in [0, 1]. Counts stay integers.

Semantics (sklearn, with ``labels=range(num_classes)`` and ``zero_division=0``):

* ``waf``: support-weighted mean of per-class F1, the MER headline
  (``f1_score(average='weighted')``).
* ``accuracy``: fraction of correct predictions (``accuracy_score``).
* ``macro_f1``: unweighted mean of per-class F1 over **all** ``num_classes``
  classes (``f1_score(average='macro')``). A class absent from both targets
  and predictions counts with F1 = 0, so macro-F1 depends on the class list,
  not only on the classes that happen to occur.
* ``uar``: unweighted average recall over the classes **with support > 0**
  (``balanced_accuracy_score``). Classes without targets are left out,
  because their recall is undefined rather than zero.
* per class: ``recall`` (= per-class accuracy), ``precision``, ``f1`` are 0
  where undefined (zero_division=0); ``support`` counts targets.
* ``confusion_matrix``: ``(C, C)`` counts, rows = true class, columns =
  predicted class.
"""
from typing import Dict, Sequence, Union

import numpy as np

ArrayLike = Union[np.ndarray, Sequence[int]]


def _as_labels(values: ArrayLike, num_classes: int, what: str) -> np.ndarray:
    labels = np.asarray(values)
    if labels.ndim != 1:
        raise ValueError(f'{what} must be 1-D, got shape {labels.shape}')
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f'{what} must hold integer class ids, got dtype {labels.dtype}')
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        raise ValueError(f'{what} holds ids outside [0, {num_classes}): '
                         f'{sorted(set(labels[bad].tolist()))[:10]}')
    return labels.astype(np.int64)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with 0 where ``den == 0`` (sklearn's ``zero_division=0``)."""
    out = np.zeros(num.shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> np.ndarray:
    """Count matrix ``(C, C)``, rows = true class, columns = predicted class.

    Args:
        y_true: ``(N,)`` integer targets in ``[0, C)``.
        y_pred: ``(N,)`` integer predictions in ``[0, C)``.
        num_classes: ``C``.
    """
    y_true = _as_labels(y_true, num_classes, 'y_true')
    y_pred = _as_labels(y_pred, num_classes, 'y_pred')
    if y_true.shape != y_pred.shape:
        raise ValueError(f'y_true {y_true.shape} and y_pred {y_pred.shape} differ in length')
    # One bincount over the flattened (true, pred) pair index.
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def emotion_metrics(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int,
                    percent: bool = True) -> Dict[str, object]:
    """All discrete-emotion scores of one prediction set (semantics: module doc).

    Args:
        y_true: ``(N,)`` integer targets in ``[0, C)``; unlabelled clips must be
            removed by the caller.
        y_pred: ``(N,)`` integer predictions in ``[0, C)``.
        num_classes: ``C``, the length of the fixed class list.
        percent: report rates in [0, 100] (default) or in [0, 1].

    Returns:
        dict with floats ``waf``, ``accuracy``, ``macro_f1``, ``uar``; int
        ``num_samples``; bool ``percent`` (the scale used); ``per_class``:
        dict of ``(C,)`` arrays ``recall``, ``precision``, ``f1`` (float) and
        ``support`` (int); and ``confusion_matrix`` ``(C, C)`` int64.

    Raises:
        ValueError: on empty input, shape mismatch or ids outside ``[0, C)``.
    """
    if num_classes < 1:
        raise ValueError(f'num_classes must be >= 1, got {num_classes}')
    cm = confusion_matrix(y_true, y_pred, num_classes)  # (C, C)
    num_samples = int(cm.sum())
    if num_samples == 0:
        raise ValueError('emotion_metrics needs at least one labelled sample')

    tp = np.diag(cm).astype(np.float64)  # (C,)
    support = cm.sum(axis=1)  # (C,) targets per class
    predicted = cm.sum(axis=0)  # (C,) predictions per class
    recall = _safe_div(tp, support)
    precision = _safe_div(tp, predicted)
    # 2PR / (P + R) == 2TP / (support + predicted); 0 when the class never occurs.
    f1 = _safe_div(2 * tp, support + predicted)

    scale = 100.0 if percent else 1.0
    has_support = support > 0
    return dict(
        waf=float(scale * np.dot(f1, support) / num_samples),
        accuracy=float(scale * tp.sum() / num_samples),
        macro_f1=float(scale * f1.mean()),
        uar=float(scale * recall[has_support].mean()),
        num_samples=num_samples,
        percent=percent,
        per_class=dict(recall=scale * recall, precision=scale * precision,
                       f1=scale * f1, support=support.astype(np.int64)),
        confusion_matrix=cm.astype(np.int64),
    )
