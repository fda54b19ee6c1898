"""A labelled set plus a chosen part of extra labelled data (paper Table 3).

Strategies for which extra clips join the base set:

* ``random``: ``num_extra`` clips uniformly at random;
* ``matched``: ``num_extra`` clips whose class counts follow the base set's
  class ratio (largest-remainder rounding);
* ``balanced``: ``num_extra`` clips that make the *combined* class counts as
  equal as possible (water-filling);
* ``all``: every extra clip.
"""
from typing import Optional

import numpy as np
from torch.utils.data import Dataset

from ..registry import DATASETS
from .mer_feature_dataset import clip_names_of
from .semi_supervised import _build

STRATEGIES = ('random', 'matched', 'balanced', 'all')


def _labels(dataset) -> np.ndarray:
    if hasattr(dataset, 'labels'):
        return np.asarray(dataset.labels(), dtype=np.int64)
    return np.array([dataset.get_data_info(i)['gt_label']
                     for i in range(len(dataset))], dtype=np.int64)


def largest_remainder(total: int, counts: np.ndarray) -> np.ndarray:
    """Split ``total`` into integers proportional to ``counts`` ``(C,)``.

    Each share is the floor of its exact quota; the units left over go to
    the largest fractional parts (ties: lower class index first). Integer
    arithmetic, so equal remainders compare equal.
    """
    counts = np.asarray(counts, dtype=np.int64)
    scaled = total * counts  # (C,) quota = scaled / sum, kept exact
    quota, remainder = scaled // counts.sum(), scaled % counts.sum()
    left = total - int(quota.sum())
    order = np.argsort(-remainder, kind='stable')
    quota[order[:left]] += 1
    return quota


def water_fill(base_counts: np.ndarray, available: np.ndarray,
               total: int) -> np.ndarray:
    """How many extra clips ``(C,)`` to take per class for balance.

    Repeatedly gives one clip to the class with the smallest combined count
    (base + taken) that still has extra clips; ties go to the lower class
    index. This minimises the spread (and the sum of squares) of the
    combined counts given ``available`` ``(C,)``.
    """
    counts = base_counts.astype(np.int64).copy()
    take = np.zeros_like(counts)
    for _ in range(total):
        open_ = take < available
        c = int(np.flatnonzero(open_)[np.argmin(counts[open_])])
        counts[c] += 1
        take[c] += 1
    return take


@DATASETS.register_module()
class ExtraLabelledDataset(Dataset):
    """All clips of ``base`` followed by the chosen clips of ``extra``.

    Indices ``[0, B)`` are base clips, ``[B, B + E)`` the chosen extra clips
    (in ``extra``'s order, see :attr:`selected_extra_indices`). Works as the
    ``labelled=`` part of :class:`SemiSupervisedDataset`.
    ``FeatureNormHook`` finds both sources through :meth:`source_datasets`
    and fits input statistics on the first, i.e. on ``base`` only.

    Args:
        base: labelled dataset (config or object).
        extra: labelled dataset to draw from (config or object), with the
            same ``metainfo['classes']`` and no clip in common with ``base``.
        strategy: ``'random'``, ``'matched'``, ``'balanced'`` or ``'all'``.
        num_extra: extra clips to add; required unless ``strategy='all'``
            (then it must be ``None``).
        seed: seed of the draw (the same seed gives the same clips).

    Raises:
        ValueError: unknown strategy, bad ``num_extra``, differing classes,
            unlabelled clips, shared clip names, or (``matched``) a class
            with fewer extra clips than its quota — no fallback is tried, so
            the ratio is never silently changed.
    """

    def __init__(self, base, extra, strategy: str = 'random',
                 num_extra: Optional[int] = None, seed: int = 0) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f'unknown extra-data strategy {strategy!r}; '
                             f'expected one of {STRATEGIES}')
        self.base, self.extra = _build(base), _build(extra)
        self.strategy, self.num_extra, self.seed = strategy, num_extra, seed
        self._check_num_extra(len(self.extra))
        classes = list(self.base.metainfo['classes'])
        if list(self.extra.metainfo['classes']) != classes:
            raise ValueError(
                f'base and extra datasets have different classes: {classes} '
                f'vs {list(self.extra.metainfo["classes"])}')
        self.metainfo = self.base.metainfo
        self._base_labels = _labels(self.base)
        self._extra_labels = _labels(self.extra)
        for what, labels in (('base', self._base_labels),
                             ('extra', self._extra_labels)):
            if (labels < 0).any():
                raise ValueError(f'the {what} dataset has '
                                 f'{int((labels < 0).sum())} unlabelled '
                                 'clip(s); both must be labelled')
        base_names = set(clip_names_of(self.base))
        shared = [n for n in clip_names_of(self.extra) if n in base_names]
        if shared:
            raise ValueError(f'{len(shared)} clip(s) are in both the base and '
                             f'the extra dataset (e.g. {shared[:5]}); remove '
                             'them from one of the label files')
        #: Indices into ``extra`` of the chosen clips, ascending ``(E,)``.
        self.selected_extra_indices = self._select(len(classes))

    def _check_num_extra(self, available: int) -> None:
        n = self.num_extra
        if self.strategy == 'all':
            if n is not None:
                raise ValueError("strategy='all' takes every extra clip; "
                                 f'num_extra must be None, got {n}')
            return
        if n is None:
            raise ValueError(f'strategy={self.strategy!r} needs num_extra')
        if not 0 <= n <= available:
            raise ValueError(f'num_extra={n} but the extra dataset has '
                             f'{available} clips')

    def _select(self, num_classes: int) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        labels = self._extra_labels
        if self.strategy == 'all':
            return np.arange(len(labels), dtype=np.int64)
        if self.strategy == 'random':
            chosen = rng.choice(len(labels), self.num_extra, replace=False)
            return np.sort(chosen).astype(np.int64)
        base_counts = np.bincount(self._base_labels, minlength=num_classes)
        available = np.bincount(labels, minlength=num_classes)
        if self.strategy == 'matched':
            take = largest_remainder(self.num_extra, base_counts)
            short = np.flatnonzero(take > available)
            if len(short):
                classes = self.metainfo['classes']
                detail = ', '.join(f'{classes[c]!r}: needs {take[c]}, has '
                                   f'{available[c]}' for c in short)
                raise ValueError(
                    f'matched strategy: the extra dataset lacks clips to '
                    f'match the base class ratio ({detail}); lower num_extra '
                    "or use strategy='balanced'")
        else:
            take = water_fill(base_counts, available, self.num_extra)
        chosen = [rng.choice(np.flatnonzero(labels == c), take[c],
                             replace=False) for c in range(num_classes)]
        return np.sort(np.concatenate(chosen)).astype(np.int64)

    # ------------------------------------------------------------- access
    def source_datasets(self) -> list:
        """``[base, extra]`` (``FeatureNormHook`` uses the first)."""
        return [self.base, self.extra]

    def _locate(self, idx: int):
        if idx < 0:
            idx += len(self)
        if not 0 <= idx < len(self):
            raise IndexError(f'index {idx} out of range for {len(self)} clips')
        n = len(self.base)
        if idx < n:
            return self.base, idx
        return self.extra, int(self.selected_extra_indices[idx - n])

    def get_data_info(self, idx: int) -> dict:
        dataset, i = self._locate(idx)
        return dataset.get_data_info(i)

    def __getitem__(self, idx: int) -> dict:
        dataset, i = self._locate(idx)
        return dataset[i]

    def __len__(self) -> int:
        return len(self.base) + len(self.selected_extra_indices)

    def labels(self) -> np.ndarray:
        """Labels ``(N,)`` of base clips then chosen extra clips."""
        return np.concatenate([
            self._base_labels,
            self._extra_labels[self.selected_extra_indices]])
