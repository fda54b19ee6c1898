"""The prior encoder of stage 2: ``e_m = Proj(Embed(I_m))`` (eq. 10)."""
from typing import Optional

import torch
from torch import nn

from ...registry import ENCODERS


@ENCODERS.register_module()
class PriorProjector(nn.Module):
    """Project one modality's cached prior embedding into the fusion space.

    ``Embed(I_m)`` is computed offline (:mod:`mer_toolbox.fileio.prior_embeddings`:
    AU multi-hot + text embedding for video, text embeddings for audio and
    text); this module is the learned ``Proj`` of eq. 10. The LayerNorm puts
    ``e_m`` on a fixed scale before it is added to the stage-1 embedding
    ``z_m`` (hashed or sentence embeddings and AU multi-hots differ in scale).

    Args:
        in_dim: prior embedding size ``P_m``.
        hidden_dim: output size ``H`` (the stage-1 embedding size).
        num_layers: 1 = a linear projection (the paper's ``Proj``); more adds
            hidden GELU layers of width ``hidden_dim``.
        dropout: dropout on the input embedding.
        norm: LayerNorm on the output.
    """

    def __init__(self, in_dim: int, hidden_dim: int = 128, num_layers: int = 1,
                 dropout: float = 0.1, norm: bool = True) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        layers, dim = [nn.Dropout(dropout)], in_dim
        for _ in range(num_layers - 1):
            layers += [nn.Linear(dim, hidden_dim), nn.GELU()]
            dim = hidden_dim
        layers.append(nn.Linear(dim, hidden_dim))
        if norm:
            layers.append(nn.LayerNorm(hidden_dim))
        self.proj = nn.Sequential(*layers)
        self.in_dim, self.out_dim = in_dim, hidden_dim

    def forward(self, x: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``(B, P_m)`` -> ``(B, H)`` (``mask`` is unused: one vector a clip)."""
        return self.proj(x)
