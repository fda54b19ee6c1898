"""Labelled + unlabelled data for stage 1, and the sampler that skips
unlabelled clips until they carry a pseudo-label."""
import math
from typing import Iterator, List, Optional

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Dataset, Sampler

from ..registry import DATA_SAMPLERS, DATASETS
from .mer_feature_dataset import clip_names_of
from .pseudo_label_table import PseudoLabelTable


def _build(cfg_or_dataset):
    if isinstance(cfg_or_dataset, dict):
        return DATASETS.build(cfg_or_dataset)
    return cfg_or_dataset


@DATASETS.register_module()
class SemiSupervisedDataset(Dataset):
    """A labelled dataset followed by an unlabelled pool.

    Indices ``[0, L)`` are labelled clips, ``[L, L + P)`` pool clips whose
    labels come from :attr:`table` (set up by ``PseudoLabelHook``).

    Args:
        labelled: labelled dataset (config or object).
        unlabelled: unlabelled pool (config or object; label -1).
        overlap: what to do when a pool clip is also labelled: ``'error'``
            (default) or ``'drop'`` (the pool copy is never selected).
    """

    def __init__(self, labelled, unlabelled, overlap: str = 'error') -> None:
        if overlap not in ('error', 'drop'):
            raise ValueError(f"overlap must be 'error' or 'drop', got "
                             f'{overlap!r}')
        self.labelled = _build(labelled)
        self.pool = _build(unlabelled)
        if len(self.pool) == 0:
            raise ValueError('the unlabelled pool is empty')
        self.metainfo = self.labelled.metainfo
        labelled_names = set(self.labelled_names())
        pool_names = self.pool_names()
        clash = [i for i, n in enumerate(pool_names) if n in labelled_names]
        if clash and overlap == 'error':
            raise ValueError(
                f'{len(clash)} pool clip(s) are also labelled (e.g. '
                f'{[pool_names[i] for i in clash[:5]]}); remove them from '
                "the pool or set overlap='drop'")
        self.excluded = np.array(clash, dtype=np.int64)
        self.table = PseudoLabelTable(pool_names)
        self.pool.attach_pseudo_labels(self.table)

    def labelled_names(self) -> List[str]:
        return clip_names_of(self.labelled)

    def pool_names(self) -> List[str]:
        return clip_names_of(self.pool)

    def source_datasets(self) -> list:
        return [self.labelled, self.pool]

    def __len__(self) -> int:
        return len(self.labelled) + len(self.pool)

    def __getitem__(self, idx: int) -> dict:
        n = len(self.labelled)
        return self.labelled[idx] if idx < n else self.pool[idx - n]

    def active_indices(self) -> np.ndarray:
        """Labelled indices plus pool indices that carry a pseudo-label."""
        pool = self.table.selected()
        if len(self.excluded):
            pool = np.setdiff1d(pool, self.excluded)
        n = len(self.labelled)
        return np.concatenate([np.arange(n), n + pool]).astype(np.int64)


@DATA_SAMPLERS.register_module()
class SemiSupervisedSampler(Sampler):
    """Shuffle labelled + pseudo-labelled indices; shard across ranks.

    Re-reads the pseudo-label table at the start of every epoch, so the epoch
    length grows as the pool is labelled (``len()`` follows). Every rank
    builds the same permutation (seed + epoch) and takes its stride, padding
    to a multiple of the world size like MMEngine's ``DefaultSampler``.

    Args:
        dataset: a :class:`SemiSupervisedDataset`.
        shuffle: shuffle each epoch.
        seed: shuffling seed (synchronised across ranks when ``None``).
    """

    def __init__(self, dataset: SemiSupervisedDataset, shuffle: bool = True,
                 seed: Optional[int] = None) -> None:
        if not hasattr(dataset, 'active_indices'):
            raise TypeError('SemiSupervisedSampler needs a '
                            'SemiSupervisedDataset, got '
                            f'{type(dataset).__name__}')
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.rank, self.world_size = get_dist_info()
        self.epoch = 0

    def _indices(self) -> List[int]:
        indices = self.dataset.active_indices()
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            indices = indices[torch.randperm(len(indices), generator=g)
                              .numpy()]
        total = math.ceil(len(indices) / self.world_size) * self.world_size
        indices = np.resize(indices, total)  # pads by repeating the start
        return indices[self.rank:total:self.world_size].tolist()

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices())

    def __len__(self) -> int:
        return math.ceil(len(self.dataset.active_indices()) / self.world_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
