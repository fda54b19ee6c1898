"""Prior-guided fusion of stage 2 (eqs. 10-11 of arXiv 2508.03722)."""
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn

from ...registry import FUSION_NECKS


@FUSION_NECKS.register_module()
class PriorGuidedFusionNeck(nn.Module):
    """Fuse stage-1 embeddings with prior embeddings, weighted by ``R``.

    Per modality ``m`` (eq. 11)::

        t_m = MLP_m(e_m + z_m) + pos_m                  # (B, W) token
        F   = Transformer([t_v, t_a, t_t])              # (B, M, W)
        g   = sum_m r_m F_m                             # (B, W)
        out = OutProj(LayerNorm(g))                     # (B, H_out)

    ``e_m`` is the projected prior (eq. 10, :class:`PriorProjector`), ``z_m``
    the frozen stage-1 embedding and ``R = (r_v, r_a, r_t)`` the teacher's
    contribution weights (absent modalities get weight 0, the rest is
    renormalised). The Transformer attends across the modality tokens
    (absent modalities are masked out) so one modality's prior can inform
    another's token. ``OutProj`` starts at zero: a classifier that adds
    ``out`` to its stage-1 fused vector (see
    :class:`~mer_toolbox.models.classifiers.PriorGuidedEmotionClassifier`)
    starts stage 2 exactly at the stage-1 predictions.

    **As a plain fusion neck** (``neck=dict(type='PriorGuidedFusionNeck')``
    in any classifier, which passes neither priors nor ``R``): ``e_m = 0``
    and ``R`` is uniform over the present modalities, i.e. a Transformer
    fusion of the modality tokens. Set ``zero_init=False`` there, so that
    the output starts like any layer's (at zero, the token MLPs get no
    gradient until ``OutProj`` has moved).

    Args:
        modalities: token order, the order of ``R``'s columns.
        in_dim: embedding size ``H`` of ``z_m`` and ``e_m``.
        hidden_dim: token width ``W``.
        num_layers: Transformer depth.
        num_heads: attention heads (must divide ``hidden_dim``).
        mlp_ratio: Transformer feed-forward width / ``W``.
        dropout: dropout in the MLPs and the Transformer.
        out_dim: output size (default ``in_dim``).
        zero_init: start ``OutProj`` at zero (see above).
    """

    def __init__(self, modalities: Sequence[str], in_dim: int,
                 hidden_dim: int = 128, num_layers: int = 1,
                 num_heads: int = 4, mlp_ratio: float = 2.0,
                 dropout: float = 0.1, out_dim: Optional[int] = None,
                 zero_init: bool = True) -> None:
        super().__init__()
        self.modalities: List[str] = list(modalities)
        self.token_mlps = nn.ModuleDict({
            m: nn.Sequential(nn.LayerNorm(in_dim),
                             nn.Linear(in_dim, hidden_dim), nn.GELU(),
                             nn.Dropout(dropout),
                             nn.Linear(hidden_dim, hidden_dim))
            for m in self.modalities})
        self.pos_embed = nn.Parameter(torch.zeros(len(self.modalities),
                                                  hidden_dim))
        layer = nn.TransformerEncoderLayer(
            hidden_dim, num_heads, dim_feedforward=int(hidden_dim * mlp_ratio),
            dropout=dropout, batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, num_layers,
                                                 enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden_dim)
        self.out_dim = out_dim or in_dim
        self.out_proj = nn.Linear(hidden_dim, self.out_dim)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        if zero_init:
            nn.init.zeros_(self.out_proj.weight)
            nn.init.zeros_(self.out_proj.bias)

    def forward(self, feats: Dict[str, torch.Tensor], present: torch.Tensor,
                data_samples: Optional[list] = None, *,
                prior_embeds: Optional[Dict[str, torch.Tensor]] = None,
                weights: Optional[torch.Tensor] = None) -> dict:
        """Fuse ``z_m`` and ``e_m`` with ``R`` (eq. 11).

        Args:
            feats: stage-1 embeddings ``{m: (B, H)}``.
            present: ``(B, M)`` bool, False for masked modalities.
            data_samples: unused (the classifier batches the priors).
            prior_embeds: ``{m: (B, H)}`` projected priors ``e_m`` (or the
                learned defaults of clips without a prior); None with
                ``weights`` None: a plain neck (see the class doc).
            weights: ``(B, M)`` contribution weights ``R``.

        Returns:
            ``dict(fused=(B, H_out), weights=(B, M))`` (the ``R`` used).

        Raises:
            ValueError: only one of ``prior_embeds`` and ``weights`` given.
        """
        if (prior_embeds is None) != (weights is None):
            raise ValueError('PriorGuidedFusionNeck takes prior_embeds and '
                             'weights together (stage 2) or neither (a '
                             'plain neck); got only '
                             + ('weights' if prior_embeds is None
                                else 'prior_embeds'))
        if prior_embeds is None:  # a plain neck: no prior, uniform R
            prior_embeds = {m: torch.zeros_like(feats[m])
                            for m in self.modalities}
            weights = present.to(feats[self.modalities[0]].dtype)  # (B, M)
        tokens = torch.stack([
            self.token_mlps[m](prior_embeds[m] + feats[m])
            for m in self.modalities], 1)  # (B, M, W)
        tokens = tokens + self.pos_embed
        out = self.transformer(tokens, src_key_padding_mask=~present)
        r = weights * present.to(weights.dtype)  # (B, M)
        r = r / r.sum(-1, keepdim=True).clamp_min(1e-6)
        fused = (r.unsqueeze(-1) * out).sum(1)  # (B, W)
        return dict(fused=self.out_proj(self.norm(fused)), weights=r)
