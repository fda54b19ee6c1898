"""Fusion necks over per-modality embeddings ``{modality: (B, H)}``.

Every neck returns ``dict(fused=(B, H_out), weights=(B, M) or None)`` and
takes ``present (B, M)`` (False where a modality was masked) so an absent
modality never contributes. ``data_samples`` is passed through for necks that
need per-clip side information (the prior-guided neck of stage 2).
"""
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn

from ...registry import FUSION_NECKS


@FUSION_NECKS.register_module()
class AttentionFusionNeck(nn.Module):
    """The MER2024 "Attention" baseline fusion.

    The modality embeddings are concatenated, an MLP scores each modality,
    and the fused vector is the softmax-weighted sum of the embeddings. (We
    normalise the scores with a softmax over the modalities present, so the
    weights are interpretable and masked modalities get exactly zero.)

    Args:
        modalities: modality order of the weights.
        in_dim: embedding size ``H`` of every modality.
        hidden_dim: width of the scoring MLP (default ``in_dim``).
        dropout: dropout in the scoring MLP.
    """

    def __init__(self, modalities: Sequence[str], in_dim: int,
                 hidden_dim: Optional[int] = None,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.modalities: List[str] = list(modalities)
        hidden_dim = hidden_dim or in_dim
        num = len(self.modalities)
        self.score_mlp = nn.Sequential(
            nn.Linear(num * in_dim, hidden_dim), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(hidden_dim, num))
        self.out_dim = in_dim

    def forward(self, feats: Dict[str, torch.Tensor], present: torch.Tensor,
                data_samples: Optional[list] = None) -> dict:
        z = torch.stack([feats[m] for m in self.modalities], 1)  # (B, M, H)
        z = z * present.unsqueeze(-1).to(z.dtype)  # absent -> zero input
        scores = self.score_mlp(z.flatten(1))  # (B, M)
        scores = scores.masked_fill(~present, float('-inf'))
        weights = scores.softmax(-1)  # (B, M)
        fused = (weights.unsqueeze(-1) * z).sum(1)  # (B, H)
        return dict(fused=fused, weights=weights)


@FUSION_NECKS.register_module()
class ConcatFusionNeck(nn.Module):
    """Concatenate the modality embeddings and mix them with an MLP.

    Args:
        modalities: concatenation order.
        in_dim: embedding size ``H`` of every modality.
        out_dim: fused size (default ``in_dim``).
        dropout: dropout after the activation.
    """

    def __init__(self, modalities: Sequence[str], in_dim: int,
                 out_dim: Optional[int] = None, dropout: float = 0.0) -> None:
        super().__init__()
        self.modalities = list(modalities)
        self.out_dim = out_dim or in_dim
        self.mlp = nn.Sequential(
            nn.Linear(len(self.modalities) * in_dim, self.out_dim),
            nn.ReLU(inplace=True), nn.Dropout(dropout))

    def forward(self, feats: Dict[str, torch.Tensor], present: torch.Tensor,
                data_samples: Optional[list] = None) -> dict:
        z = torch.stack([feats[m] for m in self.modalities], 1)  # (B, M, H)
        z = z * present.unsqueeze(-1).to(z.dtype)
        return dict(fused=self.mlp(z.flatten(1)), weights=None)
