"""A sampler that shows the model every class about equally often."""
import math
from typing import Iterator, List, Optional

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from ..registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class ClassBalancedSampler(Sampler):
    """Draw clips with probability ``~ n_c ** -power`` (with replacement).

    ``power=1`` gives every class the same expected share of each epoch
    (class-balanced sampling); ``power=0.5`` is square-root sampling, a
    milder rebalancing; ``power=0`` is uniform sampling with replacement.
    Unlabelled clips (label -1) are never drawn. Every rank draws the same
    sequence (seed + epoch) and takes its stride, as MMEngine's
    ``DefaultSampler`` does.

    Args:
        dataset: a labelled dataset with ``labels()`` (``(N,)`` class ids).
        power: rebalancing strength, ``>= 0``. Defaults to 1.0.
        num_samples: clips per epoch over all ranks (default: the number of
            labelled clips, so an epoch keeps its usual length).
        seed: random seed (synchronised across ranks when ``None``).
    """

    def __init__(self, dataset, power: float = 1.0,
                 num_samples: Optional[int] = None,
                 seed: Optional[int] = None) -> None:
        if not callable(getattr(dataset, 'labels', None)) or \
                hasattr(dataset, 'active_indices'):
            raise TypeError(
                'ClassBalancedSampler needs a labelled dataset with labels() '
                f'(got {type(dataset).__name__}); a semi-supervised dataset '
                'uses SemiSupervisedSampler')
        if power < 0:
            raise ValueError(f'power must be >= 0, got {power}')
        labels = np.asarray(dataset.labels())
        labelled = np.flatnonzero(labels >= 0)
        if len(labelled) == 0:
            raise ValueError('ClassBalancedSampler: the dataset has no '
                             'labelled clip')
        counts = np.bincount(labels[labelled])
        weights = counts[labels[labelled]].astype(np.float64) ** -power
        self.indices = labelled
        self.probs = torch.from_numpy(weights / weights.sum())  # (N_l,)
        self.num_samples = int(num_samples or len(labelled))
        self.seed = sync_random_seed() if seed is None else seed
        self.rank, self.world_size = get_dist_info()
        self.epoch = 0

    def _draw(self) -> List[int]:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        total = math.ceil(self.num_samples / self.world_size) * self.world_size
        picks = torch.multinomial(self.probs, total, replacement=True,
                                  generator=g).numpy()
        return self.indices[picks][self.rank:total:self.world_size].tolist()

    def __iter__(self) -> Iterator[int]:
        return iter(self._draw())

    def __len__(self) -> int:
        return math.ceil(self.num_samples / self.world_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
