"""The demo dataset as a config-buildable :class:`MERFeatureDataset`."""
from typing import Dict, Optional, Sequence

import numpy as np

from ..registry import DATASETS
from .demo import (DEMO_FEATURE_DIMS, DEMO_FEATURE_SETS, ensure_demo_data,
                   read_hidden_labels)
from .demo_priors import DEMO_PRIOR_FILE, ensure_demo_priors
from .mer_feature_dataset import MERFeatureDataset

DEMO_SPLITS = ('train', 'val', 'test', 'pool')


@DATASETS.register_module()
class DemoMERDataset(MERFeatureDataset):
    """One split of the embedded demo data, generated on first use.

    Args:
        split: ``'train'``, ``'val'``, ``'test'`` or ``'pool'`` (unlabelled).
        data_root: where the demo data lives / is written.
        seed: generator seed (see :func:`ensure_demo_data`).
        sizes: clips per split; ``None`` uses the default sizes.
        frame_level: serve frame-level ``(T, D)`` features instead of
            utterance-level ``(D,)`` ones.
        modalities: subset of ``('video', 'audio', 'text')``.
        with_priors: attach the simulated teacher's priors (created on first
            use, see :mod:`.demo_priors`; the pool has none) as
            ``prior_file``; ``prior_file=`` overrides the cache used.
        ann_file: another label CSV instead of the split's (e.g. train and
            val pooled by ``tools/cross_validate.py --include-val``).
        **kwargs: forwarded to :class:`MERFeatureDataset`.
    """

    def __init__(self, split: str = 'train', data_root: str = 'data/mer_demo',
                 seed: int = 0, sizes: Optional[Dict[str, int]] = None,
                 frame_level: bool = False,
                 modalities: Optional[Sequence[str]] = None,
                 with_priors: bool = False,
                 ann_file: Optional[str] = None,
                 **kwargs) -> None:
        if split not in DEMO_SPLITS:
            raise ValueError(f'unknown demo split {split!r}; expected one of '
                             f'{DEMO_SPLITS}')
        ensure_demo_data(data_root, seed=seed, sizes=sizes,
                         frame_level=frame_level)
        if with_priors:
            ensure_demo_priors(data_root, seed=seed)
            kwargs.setdefault('prior_file', DEMO_PRIOR_FILE)
        suffix = (lambda f: f.replace('-UTT', '-FRA')) if frame_level else str
        prefix = {m: suffix(f) for m, f in DEMO_FEATURE_SETS.items()}
        self.split = split
        super().__init__(
            ann_file=ann_file or ('pool.csv' if split == 'pool'
                                  else f'label-{split}.csv'),
            data_prefix=prefix, modalities=modalities,
            feature_dims=dict(DEMO_FEATURE_DIMS), labelled=split != 'pool',
            data_root=data_root, **kwargs)
        #: True labels of pool clips, only to measure pseudo-label precision.
        self.hidden_labels = None
        if split == 'pool':
            truth = read_hidden_labels(data_root)
            self.hidden_labels = np.array(
                [truth[n] for n in self.clip_names()], dtype=np.int64)
