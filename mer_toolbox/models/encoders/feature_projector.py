"""Encoders for pre-extracted features: an MLP projector and a sequence encoder."""
import copy
from typing import Optional

import torch
from torch import nn

from ...registry import ENCODERS


def masked_mean(x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Mean over time of ``x (B, T, D)`` using ``mask (B, T)`` (True = valid)."""
    if mask is None:
        return x.mean(1)
    mask = mask.to(x.dtype).unsqueeze(-1)  # (B, T, 1)
    return (x * mask).sum(1) / mask.sum(1).clamp_min(1.0)


@ENCODERS.register_module()
class MLPFeatureProjector(nn.Module):
    """Per-modality MLP (the MER2024 baseline's feature encoder).

    Args:
        in_dim: input feature size ``D``.
        hidden_dim: width of every layer and the output size ``H``.
        num_layers: number of Linear layers (>= 1).
        dropout: dropout after each activation.

    Frame-level input ``(B, T, D)`` is mean-pooled over valid frames first,
    so the projector also serves frame-level features.
    """

    def __init__(self, in_dim: int, hidden_dim: int = 256, num_layers: int = 2,
                 dropout: float = 0.1) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        layers, dim = [], in_dim
        for _ in range(num_layers):
            layers += [nn.Linear(dim, hidden_dim), nn.ReLU(inplace=True),
                       nn.Dropout(dropout)]
            dim = hidden_dim
        self.mlp = nn.Sequential(*layers)
        self.out_dim = hidden_dim

    def forward(self, x: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``(B, D)`` or ``(B, T, D)`` (+ ``(B, T)`` mask) -> ``(B, H)``."""
        if x.dim() == 3:
            x = masked_mean(x, mask)  # (B, D)
        return self.mlp(x)

    def fold_input_norm(self, norm) -> Optional['MLPFeatureProjector']:
        """A copy whose first Linear also standardises its input.

        For utterance-level input ``(B, D)``: ``copy(x) == self(norm(x))``
        up to float rounding (frame-level clips without a valid frame would
        differ: their pooled zero vector is not standardised).

        Args:
            norm: a fitted :class:`~..utils.FeatureStandardizer`.

        Returns:
            the folded copy, or None when ``norm`` cannot be folded
            (see :meth:`FeatureStandardizer.fold_into`).
        """
        first = norm.fold_into(self.mlp[0])
        if first is None:
            return None
        twin = copy.copy(self)  # shares every layer but the first
        twin._modules = dict(self._modules)
        twin.mlp = nn.Sequential(first, *list(self.mlp)[1:])
        return twin


@ENCODERS.register_module()
class TransformerSequenceEncoder(nn.Module):
    """Transformer over frame-level features, pooled to one vector.

    Args:
        in_dim: input feature size ``D``.
        hidden_dim: model width and output size ``H``.
        num_layers: Transformer encoder layers.
        num_heads: attention heads (must divide ``hidden_dim``).
        dropout: dropout inside the Transformer.
        max_len: longest sequence (learned positional embeddings).
        pool: ``'mean'`` over valid frames or ``'cls'`` (a learned token).
    """

    def __init__(self, in_dim: int, hidden_dim: int = 256, num_layers: int = 2,
                 num_heads: int = 4, dropout: float = 0.1, max_len: int = 512,
                 pool: str = 'mean') -> None:
        super().__init__()
        if pool not in ('mean', 'cls'):
            raise ValueError(f"pool must be 'mean' or 'cls', got {pool!r}")
        self.input_proj = nn.Linear(in_dim, hidden_dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, max_len + 1, hidden_dim))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        layer = nn.TransformerEncoderLayer(
            hidden_dim, num_heads, dim_feedforward=2 * hidden_dim,
            dropout=dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers,
                                             enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden_dim)
        self.pool, self.max_len, self.out_dim = pool, max_len, hidden_dim
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, x: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``(B, T, D)`` (or ``(B, D)`` as T = 1) + ``(B, T)`` mask -> ``(B, H)``."""
        if x.dim() == 2:
            x, mask = x.unsqueeze(1), None
        b, t, _ = x.shape
        if t > self.max_len:
            raise ValueError(f'sequence of {t} frames exceeds max_len='
                             f'{self.max_len} of TransformerSequenceEncoder')
        if mask is None:
            mask = torch.ones(b, t, dtype=torch.bool, device=x.device)
        h = self.input_proj(x)  # (B, T, H)
        h = torch.cat([self.cls_token.expand(b, -1, -1), h], 1)  # (B, 1+T, H)
        h = h + self.pos_embed[:, :t + 1]
        keep = torch.cat([mask.new_ones(b, 1), mask], 1)  # (B, 1+T)
        h = self.norm(self.encoder(h, src_key_padding_mask=~keep))
        if self.pool == 'cls':
            return h[:, 0]
        return masked_mean(h[:, 1:], mask)  # (B, H)
