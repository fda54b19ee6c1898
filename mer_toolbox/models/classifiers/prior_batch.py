"""Turn ``EmotionSample.prior`` into the batch tensors of the prior branch.

``sample.prior`` comes in one of three forms:

* **cached embeddings** (what :class:`~mer_toolbox.datasets.MERFeatureDataset`
  attaches with ``prior_file``, or one entry of
  :func:`~mer_toolbox.fileio.prior_embeddings.load_prior_embeddings`):
  ``{'video': (58 + D,), 'audio': (D,), 'text': (D,), 'contributions': (3,),
  'has_prior': bool, ...}`` as tensors or numpy arrays;
* **a prior record** (``PriorRecord.to_dict()``, what single-clip inference
  passes): turned into the same arrays by the cache's own conversion
  (:func:`~mer_toolbox.fileio.prior_embeddings.records_to_arrays`), with the
  model's ``prior_embedder``;
* nothing (``None``, missing, ``has_prior`` False, a failed record): the clip
  takes the model's no-prior fallback.
"""
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from ...fileio.prior_record import CONTRIBUTION_KEYS, STATUS_OK


def _usable(prior, name: str,
            embed_record: Optional[Callable[[Mapping], dict]]
            ) -> Optional[Mapping]:
    """The arrays of a usable prior, or None (the clip falls back)."""
    if not prior:
        return None
    if 'has_prior' in prior:
        return prior if bool(prior['has_prior']) else None
    if 'status' not in prior:
        raise ValueError(f'clip {name!r}: sample.prior is neither cached '
                         'prior embeddings (with has_prior) nor a prior '
                         f'record (with status); it has keys {sorted(prior)}')
    if prior['status'] != STATUS_OK:
        return None
    if embed_record is None:
        raise ValueError(
            f'clip {name!r}: sample.prior is a raw prior record; set the '
            "model's prior_embedder to the embedder its prior cache was "
            "built with (e.g. dict(type='HashingTextEmbedder', dim=128)), or "
            'pass the cached embeddings')
    return embed_record(prior)


def collate_priors(data_samples: Optional[Sequence], modalities: List[str],
                   prior_dims: Dict[str, int], batch_size: int,
                   device: torch.device,
                   embed_record: Optional[Callable[[Mapping], dict]] = None
                   ) -> Tuple[Dict[str, torch.Tensor], torch.Tensor,
                              torch.Tensor]:
    """Stack the batch's priors.

    Args:
        data_samples: the batch's samples (None: no priors at all).
        modalities: the model's modalities (order of ``R``'s columns).
        prior_dims: expected size ``P_m`` per modality.
        batch_size: ``B``.
        device: where the tensors go.
        embed_record: record -> arrays (one row of
            :func:`~mer_toolbox.fileio.prior_embeddings.records_to_arrays`),
            for samples carrying raw records.

    Returns:
        ``({m: (B, P_m)}, R (B, M), has_prior (B,) bool)``; rows of clips
        without a usable prior are zero.

    Raises:
        ValueError: a prior of the wrong size, or a form that is not known.
    """
    cols = [CONTRIBUTION_KEYS.index(m) for m in modalities]
    rows = {m: torch.zeros(batch_size, prior_dims[m]) for m in modalities}
    weights = torch.zeros(batch_size, len(modalities))  # (B, M)
    has = torch.zeros(batch_size, dtype=torch.bool)  # (B,)
    for i, sample in enumerate(data_samples or []):
        name = sample.get('name')
        prior = _usable(sample.get('prior'), name, embed_record)
        if prior is None:
            continue
        for m in modalities:
            value = torch.as_tensor(np.asarray(prior[m]), dtype=torch.float32)
            if value.shape != (prior_dims[m],):
                raise ValueError(
                    f'clip {name!r}: prior {m!r} has shape '
                    f'{tuple(value.shape)}, the model expects '
                    f'({prior_dims[m]},) (model.prior_dims); was the cache '
                    'built with another embedder?')
            rows[m][i] = value
        weights[i] = torch.as_tensor(np.asarray(prior['contributions']),
                                     dtype=torch.float32)[cols]
        has[i] = True
    return ({m: v.to(device) for m, v in rows.items()}, weights.to(device),
            has.to(device))
