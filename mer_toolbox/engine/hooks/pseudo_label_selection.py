"""Which pool predictions become pseudo-labels (pure numpy, testable alone)."""
from typing import Optional, Union

import numpy as np

THRESHOLD_MODES = ('fixed', 'flexmatch', 'freematch')
WEIGHTINGS = ('hard', 'confidence')


def adaptive_thresholds(scores: np.ndarray, mode: str = 'freematch',
                        threshold: float = 0.9) -> np.ndarray:
    """Per-class confidence thresholds ``(C,)`` from the pool's predictions.

    A fixed global threshold selects nothing when the model is not yet sure
    of anything (an 8-class task rarely predicts above 0.9) and almost only
    the easy head classes when it is. Both rules below adapt to the pool's
    current predictions, recomputed every round:

    * ``'freematch'`` (Wang et al., ICLR 2023, eqs. 5-7, with the pool mean
      in place of the per-batch EMA): global level ``tau = mean_i max_c
      p_ic``, class level ``p_c = mean_i p_ic``; ``t_c = tau * p_c / max_k
      p_k``. Classes the model predicts rarely get a lower bar.
    * ``'flexmatch'`` (Zhang et al., NeurIPS 2021, eqs. 6-7): ``sigma_c`` =
      clips predicted as ``c`` above ``threshold``, ``beta_c = sigma_c /
      max(max_k sigma_k, #unsure)``; ``t_c = threshold * beta_c / (2 -
      beta_c)`` (the convex warm-up mapping).
    * ``'fixed'``: ``threshold`` for every class.

    Args:
        scores: ``(N, C)`` class probabilities of the pool.
        mode: one of ``THRESHOLD_MODES``.
        threshold: the fixed threshold, and FlexMatch's upper bound.
    """
    if mode not in THRESHOLD_MODES:
        raise ValueError(f'threshold mode must be one of {THRESHOLD_MODES}, '
                         f'got {mode!r}')
    scores = np.asarray(scores, dtype=np.float64)
    num_classes = scores.shape[1]
    if mode == 'fixed' or len(scores) == 0:
        return np.full(num_classes, float(threshold))
    conf, pred = scores.max(1), scores.argmax(1)
    if mode == 'freematch':
        level = conf.mean()
        per_class = scores.mean(0)  # (C,)
        return level * per_class / per_class.max()
    sure = conf >= threshold
    sigma = np.bincount(pred[sure], minlength=num_classes).astype(np.float64)
    beta = sigma / max(sigma.max(), float((~sure).sum()), 1.0)
    return threshold * beta / (2.0 - beta)


def check_selection_args(threshold: Optional[float] = 0.9,
                         max_per_class: Optional[int] = None,
                         class_balanced_ratio: Optional[float] = None,
                         weighting: str = 'hard') -> None:
    """Raise ``ValueError`` naming the first argument of
    :func:`select_pseudo_labels` out of its range.

    Args:
        threshold: a global threshold, checked to lie in ``(0, 1]``; None
            skips it (per-class thresholds are checked against the scores).
        max_per_class, class_balanced_ratio, weighting: see
            :func:`select_pseudo_labels`.
    """
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise ValueError(f'threshold must be in (0, 1], got {threshold}')
    if class_balanced_ratio is not None and \
            not 0.0 < class_balanced_ratio <= 1.0:
        raise ValueError('class_balanced_ratio must be in (0, 1], got '
                         f'{class_balanced_ratio}')
    if max_per_class is not None and max_per_class < 0:
        raise ValueError(f'max_per_class must be >= 0, got {max_per_class}')
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be 'hard' or 'confidence', got "
                         f'{weighting!r}')


def select_pseudo_labels(scores: np.ndarray,
                         threshold: Union[float, np.ndarray] = 0.9,
                         max_per_class: Optional[int] = None,
                         class_balanced_ratio: Optional[float] = None,
                         weighting: str = 'hard',
                         excluded: Optional[np.ndarray] = None) -> dict:
    """Choose pseudo-labels from class probabilities.

    A clip is selected when (1) its top probability is ``>= threshold`` (of
    its predicted class, when ``threshold`` is per class);
    (2) with ``class_balanced_ratio = p``, it is among the most confident
    ``ceil(p * n_c)`` of the ``n_c`` clips predicted as its class
    (class-balanced self-training: every class keeps the same *fraction* of
    its predictions, so head classes cannot swamp the pool); (3) with
    ``max_per_class = k``, it is among the ``k`` most confident selected
    clips of its class. Ties break by pool index, so every rank agrees.

    Args:
        scores: ``(N, C)`` class probabilities of the pool.
        threshold: confidence threshold in ``(0, 1]``, or one per class
            ``(C,)`` (see :func:`adaptive_thresholds`).
        max_per_class: optional cap per class.
        class_balanced_ratio: optional fraction in ``(0, 1]``.
        weighting: ``'hard'`` (weight 1) or ``'confidence'`` (weight = top
            probability) for the selected clips' losses.
        excluded: pool indices that may never be selected.

    Returns:
        ``dict(labels (N,) int64 with -1 where unselected, weights (N,),
        confidence (N,), predictions (N,))``.
    """
    bar = np.asarray(threshold, dtype=np.float64)
    if bar.ndim > 1 or (bar.ndim == 1 and len(bar) != np.shape(scores)[1]):
        raise ValueError(f'threshold must be a number or one per class '
                         f'({np.shape(scores)[1]}), got shape {bar.shape}')
    if bar.ndim == 1 and ((bar < 0) | (bar > 1)).any():
        raise ValueError(f'per-class thresholds must lie in [0, 1], got '
                         f'{bar.tolist()}')
    check_selection_args(float(bar) if bar.ndim == 0 else None,
                         max_per_class, class_balanced_ratio, weighting)
    scores = np.asarray(scores, dtype=np.float64)
    pred = scores.argmax(1)
    conf = scores.max(1)
    keep = conf >= (bar[pred] if bar.ndim else bar)
    if excluded is not None and len(excluded):
        keep[np.asarray(excluded)] = False
    # Most confident first; a stable sort keeps pool order among ties.
    order = np.argsort(-conf, kind='stable')
    for c in range(scores.shape[1]):
        ranked = order[pred[order] == c]
        if class_balanced_ratio is not None:
            quota = int(np.ceil(class_balanced_ratio * len(ranked)))
            keep[ranked[quota:]] = False
        if max_per_class is not None:
            kept = ranked[keep[ranked]]
            keep[kept[max_per_class:]] = False
    labels = np.where(keep, pred, -1).astype(np.int64)
    weights = np.where(keep, 1.0 if weighting == 'hard' else conf, 0.0)
    return dict(labels=labels, weights=weights.astype(np.float32),
                confidence=conf.astype(np.float32), predictions=pred)
