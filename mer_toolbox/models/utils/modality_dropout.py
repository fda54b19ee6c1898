"""Modality dropout: train as if some of a clip's modalities were missing."""
import torch


def drop_modalities(present: torch.Tensor, p: float) -> torch.Tensor:
    """Mark each present modality of each clip absent with probability ``p``.

    Every clip keeps at least one modality: when all of a clip's present
    modalities are drawn for dropping, one of them, chosen uniformly, stays.
    The fusion neck then treats dropped modalities exactly like missing
    ones (a zero block in concatenation, no weight in attention), so the
    model learns not to lean on one modality alone and meets clips with
    missing modalities at test time in the state it was trained for. Draws
    come from torch's global generator (a seeded run repeats).

    Args:
        present: ``(B, M)`` bool, modality ``j`` present in clip ``i``.
        p: drop probability per (clip, modality), ``0 <= p < 1``.

    Returns:
        ``(B, M)`` bool, a subset of ``present`` with >= 1 modality per clip
        that had one.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f'modality dropout p must be in [0, 1), got {p}')
    if p == 0.0 or present.shape[1] < 2:
        return present
    keep = present & (torch.rand(present.shape, device=present.device) >= p)
    emptied = present.any(1) & ~keep.any(1)  # (B,) lost every modality
    if bool(emptied.any()):
        # one of the clip's own present modalities, uniformly: random scores,
        # -1 where absent, argmax
        scores = torch.rand(present.shape, device=present.device)
        scores = scores.masked_fill(~present, -1.0)
        rescued = torch.zeros_like(present)
        rescued[torch.arange(len(present), device=present.device),
                scores.argmax(1)] = True  # (B, M) one per clip
        keep = torch.where(emptied[:, None], rescued, keep)
    return keep
