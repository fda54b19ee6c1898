"""Make every epoch's randomness a function of (seed, epoch)."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from ...registry import HOOKS


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Reseed Python, numpy and torch at the start of each training epoch.

    MMEngine seeds once per process and does not checkpoint RNG states, so a
    resumed run draws different dropout masks than the run it continues.
    Reseeding with ``seed + epoch`` makes epoch ``k`` identical whether or
    not the run was interrupted before it.

    Args:
        seed: base seed (default: the runner's ``randomness.seed``).
    """

    priority = 'VERY_HIGH'

    def __init__(self, seed=None) -> None:
        self.seed = seed

    def before_train_epoch(self, runner) -> None:
        base = self.seed if self.seed is not None else runner.seed
        seed = int(base) + int(runner.epoch)
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
