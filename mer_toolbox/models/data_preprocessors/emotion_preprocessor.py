"""Collate per-modality features into padded batch tensors."""
from typing import Dict, List, Union

import torch
from mmengine.model import BaseDataPreprocessor

from ...registry import MODELS


def stack_or_pad(xs: List[torch.Tensor]) -> torch.Tensor:
    """Stack ``(D,)`` items to ``(B, D)``; pad ``(T, D)`` items to ``(B, T_max, D)``.

    A batch mixing both (a masked clip contributes a ``(D,)`` zero vector) is
    padded as frame level, the ``(D,)`` items counting as one frame.
    """
    if all(x.dim() == 1 for x in xs):
        return torch.stack(xs)  # (B, D)
    xs = [x.unsqueeze(0) if x.dim() == 1 else x for x in xs]
    t_max = max(x.shape[0] for x in xs)
    out = xs[0].new_zeros(len(xs), t_max, xs[0].shape[-1])  # (B, T, D)
    for i, x in enumerate(xs):
        out[i, :x.shape[0]] = x
    return out


@MODELS.register_module()
class EmotionDataPreprocessor(BaseDataPreprocessor):
    """Turn collated samples into ``inputs: dict[str, Tensor]`` on the device.

    Input: ``dict(inputs={modality: list[(D,) | (T, D)]}, data_samples=[...])``
    as produced by MMEngine's ``pseudo_collate``. Output: the same dict with
    ``(B, D)`` / ``(B, T, D)`` tensors (frame lengths stay in each sample's
    ``lengths``). Normalisation lives in the model (its statistics must travel
    with the checkpoint); this class only shapes and moves data.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs: Dict[str, Union[torch.Tensor, list]] = data['inputs']
        batched = {
            m: x if isinstance(x, torch.Tensor) else stack_or_pad(list(x))
            for m, x in inputs.items()
        }
        return self.cast_data(dict(inputs=batched,
                                   data_samples=data.get('data_samples')))
