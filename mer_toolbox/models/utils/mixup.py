"""Multimodal mixup: one mixing weight and one partner per clip, shared by
every modality, so a mixed clip is still one coherent performance."""
from typing import Dict, Tuple

import torch


def mix_modalities(inputs: Dict[str, torch.Tensor], present: torch.Tensor,
                   alpha: float
                   ) -> Tuple[Dict[str, torch.Tensor], torch.Tensor,
                              torch.Tensor, float]:
    """Mixup (Zhang et al. 2018) of a batch of clip-level features.

    Clip ``i`` becomes ``lam * x_i + (1 - lam) * x_perm[i]`` in every
    modality, with ``lam ~ Beta(alpha, alpha)`` drawn once per batch and
    ``perm`` a random permutation (both from torch's global generator, so a
    seeded run repeats). Mixing raw inputs equals mixing standardised ones,
    since standardisation is affine and the weights sum to 1. A modality
    that only one of the two clips has is taken from that clip unmixed; the
    mixed clip has a modality if either clip has it.

    Args:
        inputs: ``{m: (B, D_m)}`` clip-level features.
        present: ``(B, M)`` bool, modality ``j`` of ``inputs`` (in order)
            present in clip ``i``.
        alpha: Beta concentration, > 0 (small: mostly one clip; 1: uniform).

    Returns:
        ``(mixed inputs, mixed present (B, M), perm (B,), lam)``.

    Raises:
        ValueError: ``alpha <= 0`` or a frame-level ``(B, T, D)`` input
            (frames of two clips do not line up).
    """
    if alpha <= 0:
        raise ValueError(f'mixup alpha must be > 0, got {alpha}')
    frame_level = [m for m, x in inputs.items() if x.dim() != 2]
    if frame_level:
        raise ValueError(f'mixup mixes clip-level (B, D) features; modalities '
                         f'{frame_level} are frame-level (B, T, D): pool them '
                         'to one vector per clip or set mixup_alpha=0')
    batch = present.shape[0]
    lam = float(torch.distributions.Beta(alpha, alpha).sample())
    perm = torch.randperm(batch).to(present.device)
    mixed = {}
    for j, (m, x) in enumerate(inputs.items()):
        mine, theirs = present[:, j:j + 1], present[perm, j:j + 1]  # (B, 1)
        blend = lam * x + (1 - lam) * x[perm]  # (B, D)
        mixed[m] = torch.where(mine & theirs, blend,
                               torch.where(mine, x, x[perm]))
    return mixed, present | present[perm], perm, lam
