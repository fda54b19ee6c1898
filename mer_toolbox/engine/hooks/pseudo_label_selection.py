"""Which pool predictions become pseudo-labels (pure numpy, testable alone)."""
from typing import Optional

import numpy as np


def select_pseudo_labels(scores: np.ndarray, threshold: float = 0.9,
                         max_per_class: Optional[int] = None,
                         class_balanced_ratio: Optional[float] = None,
                         weighting: str = 'hard',
                         excluded: Optional[np.ndarray] = None) -> dict:
    """Choose pseudo-labels from class probabilities.

    A clip is selected when (1) its top probability is ``>= threshold``;
    (2) with ``class_balanced_ratio = p``, it is among the most confident
    ``ceil(p * n_c)`` of the ``n_c`` clips predicted as its class
    (class-balanced self-training: every class keeps the same *fraction* of
    its predictions, so head classes cannot swamp the pool); (3) with
    ``max_per_class = k``, it is among the ``k`` most confident selected
    clips of its class. Ties break by pool index, so every rank agrees.

    Args:
        scores: ``(N, C)`` class probabilities of the pool.
        threshold: confidence threshold in ``(0, 1]``.
        max_per_class: optional cap per class.
        class_balanced_ratio: optional fraction in ``(0, 1]``.
        weighting: ``'hard'`` (weight 1) or ``'confidence'`` (weight = top
            probability) for the selected clips' losses.
        excluded: pool indices that may never be selected.

    Returns:
        ``dict(labels (N,) int64 with -1 where unselected, weights (N,),
        confidence (N,), predictions (N,))``.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f'threshold must be in (0, 1], got {threshold}')
    if class_balanced_ratio is not None and \
            not 0.0 < class_balanced_ratio <= 1.0:
        raise ValueError('class_balanced_ratio must be in (0, 1], got '
                         f'{class_balanced_ratio}')
    if max_per_class is not None and max_per_class < 0:
        raise ValueError(f'max_per_class must be >= 0, got {max_per_class}')
    if weighting not in ('hard', 'confidence'):
        raise ValueError(f"weighting must be 'hard' or 'confidence', got "
                         f'{weighting!r}')
    scores = np.asarray(scores, dtype=np.float64)
    pred = scores.argmax(1)
    conf = scores.max(1)
    keep = conf >= threshold
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
