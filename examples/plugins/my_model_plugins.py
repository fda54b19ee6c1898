"""Model plugins: an encoder, a fusion neck, a loss and a head, all registered
from outside the package and used by the unchanged tools/train.py.

    python tools/train.py examples/plugins/my_model_config.py
"""
from typing import Dict, Optional, Sequence

import torch
from torch import nn

from mer_toolbox.models.heads import labels_and_weights
from mer_toolbox.registry import ENCODERS, FUSION_NECKS, HEADS, LOSSES


@ENCODERS.register_module()
class ResidualMLPEncoder(nn.Module):
    """``(B, D)`` -> ``(B, H)``: a projection plus one residual MLP block."""

    def __init__(self, in_dim: int, hidden_dim: int = 128,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.proj = nn.Linear(in_dim, hidden_dim)
        self.block = nn.Sequential(nn.LayerNorm(hidden_dim),
                                   nn.Linear(hidden_dim, hidden_dim),
                                   nn.GELU(), nn.Dropout(dropout))
        self.out_dim = hidden_dim  # the classifier reads this

    def forward(self, x: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if x.dim() == 3:  # frame level: mean over time (mask ignored here)
            x = x.mean(1)
        h = self.proj(x)
        return h + self.block(h)


@FUSION_NECKS.register_module()
class GatedSumFusionNeck(nn.Module):
    """Sigmoid gate per modality and dimension, then a masked sum."""

    def __init__(self, modalities: Sequence[str], in_dim: int) -> None:
        super().__init__()
        self.modalities = list(modalities)
        self.gate = nn.Linear(len(self.modalities) * in_dim,
                              len(self.modalities) * in_dim)
        self.out_dim = in_dim

    def forward(self, feats: Dict[str, torch.Tensor], present: torch.Tensor,
                data_samples=None) -> dict:
        z = torch.stack([feats[m] for m in self.modalities], 1)  # (B, M, H)
        z = z * present.unsqueeze(-1).to(z.dtype)
        g = torch.sigmoid(self.gate(z.flatten(1))).view_as(z)  # (B, M, H)
        return dict(fused=(g * z).sum(1), weights=None)


@LOSSES.register_module()
class FocalLoss(nn.Module):
    """Focal loss (Lin et al., 2017) with the toolbox's call signature."""

    def __init__(self, gamma: float = 2.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.gamma, self.loss_weight = gamma, loss_weight

    def forward(self, logits: torch.Tensor, labels: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        valid = labels >= 0
        if not bool(valid.any()):
            return logits.sum() * 0.0
        logp = logits[valid].log_softmax(-1)
        logp_y = logp.gather(1, labels[valid, None])[:, 0]  # (N,)
        loss = -((1 - logp_y.exp()) ** self.gamma) * logp_y
        w = weight[valid] if weight is not None else torch.ones_like(loss)
        return self.loss_weight * (w * loss).sum() / w.sum().clamp_min(1e-12)


@HEADS.register_module()
class CosineClsHead(nn.Module):
    """Scaled cosine-similarity classifier; owns its loss and prediction."""

    def __init__(self, in_dim: int, num_classes: int, scale: float = 16.0,
                 loss: Optional[dict] = None) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_classes, in_dim) * 0.01)
        self.scale, self.num_classes = scale, num_classes
        self.loss_module = LOSSES.build(loss or dict(type='CrossEntropyLoss'))

    def forward(self, fused: torch.Tensor) -> torch.Tensor:
        x = nn.functional.normalize(fused, dim=-1)
        w = nn.functional.normalize(self.weight, dim=-1)
        return self.scale * x @ w.t()  # (B, C)

    def loss(self, fused, data_samples) -> dict:
        labels, weights = labels_and_weights(data_samples, fused.device)
        return dict(loss_cls=self.loss_module(self(fused), labels, weights))

    def predict(self, fused, data_samples):
        for sample, score in zip(data_samples, self(fused).softmax(-1)):
            sample.set_pred(score)
        return data_samples
