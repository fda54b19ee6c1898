"""A split's view of a prior embedding cache: one clip's prior arrays."""
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from ..fileio.prior_embeddings import load_prior_embeddings, prior_embedding_meta


class PriorLookup:
    """Clip name -> prior tensors from a cache folder, opened lazily.

    Args:
        cache: the cache folder
            (:func:`~mer_toolbox.fileio.prior_embeddings.build_prior_embeddings`).
        classes: the dataset's classes; the cache's ``scores`` must use the
            same ones in the same order.

    Raises:
        FileNotFoundError: the folder does not exist (checked at once, so a
            wrong path fails before training starts).
    """

    def __init__(self, cache: str, classes: Sequence[str]) -> None:
        if not osp.isdir(cache):
            raise FileNotFoundError(
                f'prior_file {cache!r} does not exist; build it with '
                'tools/generate_priors.py (the cache is <store>.emb)')
        self.cache = cache
        self.classes = tuple(classes)
        self._entries: Optional[dict] = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_entries'] = None  # memory maps reopen per process
        return state

    def entries(self) -> Dict[str, Dict[str, np.ndarray]]:
        """Clip name -> memory-mapped arrays (see the cache's module doc)."""
        if self._entries is None:
            meta = prior_embedding_meta(self.cache)
            if tuple(meta['classes']) != self.classes:
                raise ValueError(f'{self.cache}: prior scores use classes '
                                 f'{meta["classes"]}, the dataset '
                                 f'{list(self.classes)}')
            self._entries = load_prior_embeddings(self.cache)
        return self._entries

    def count_with_prior(self, names: Sequence[str]) -> int:
        """How many of ``names`` have a usable (ok) prior."""
        entries = self.entries()
        return sum(bool(entries[n]['has_prior']) for n in names
                   if n in entries)

    def tensors(self, name: str) -> Dict[str, object]:
        """One clip's prior as float tensors plus ``has_prior``
        (``{'has_prior': False}`` when the teacher failed or the clip is not
        in the cache: stage 2's no-prior fallback)."""
        entry = self.entries().get(name)
        if entry is None or not bool(entry['has_prior']):
            return dict(has_prior=False)
        out = {k: torch.from_numpy(np.array(v, dtype=np.float32))
               for k, v in entry.items() if k != 'has_prior'}
        return dict(out, has_prior=True)
