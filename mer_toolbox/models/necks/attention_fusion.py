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
    """Concatenate the modality embeddings, optionally mixing them with an MLP.

    Plain concatenation (``mix=False``) keeps every modality's embedding
    intact for the head: with the per-modality encoders in front it is an
    early-late hybrid whose head weighs each modality's evidence itself. On
    the real dev sets it generalised better than the attention-weighted sum,
    which makes one modality's embedding stand in for the others (see
    docs/benchmarks.md).

    Args:
        modalities: concatenation order.
        in_dim: embedding size ``H`` of every modality.
        out_dim: fused size when mixing (default ``in_dim``).
        dropout: dropout after the mixing activation.
        mix: apply ``Linear(M * H, out_dim) + ReLU + Dropout`` (default);
            ``False`` returns the concatenation itself (``out_dim = M * H``).
    """

    def __init__(self, modalities: Sequence[str], in_dim: int,
                 out_dim: Optional[int] = None, dropout: float = 0.0,
                 mix: bool = True) -> None:
        super().__init__()
        self.modalities = list(modalities)
        if not mix and out_dim is not None:
            raise ValueError('out_dim applies only with mix=True (plain '
                             'concatenation has M * in_dim features)')
        self.out_dim = (out_dim or in_dim) if mix else \
            len(self.modalities) * in_dim
        self.mlp = nn.Sequential(
            nn.Linear(len(self.modalities) * in_dim, self.out_dim),
            nn.ReLU(inplace=True), nn.Dropout(dropout)) if mix else \
            nn.Identity()

    def forward(self, feats: Dict[str, torch.Tensor], present: torch.Tensor,
                data_samples: Optional[list] = None) -> dict:
        z = torch.stack([feats[m] for m in self.modalities], 1)  # (B, M, H)
        z = z * present.unsqueeze(-1).to(z.dtype)  # absent -> zero block
        return dict(fused=self.mlp(z.flatten(1)), weights=None)  # (B, out_dim)
