"""Slow, obviously-correct loop reference of the (balanced) dual-contrastive loss.

Written independently of ``mer_toolbox.models.losses.dual_contrastive_loss``
(explicit loops over anchors, classes and positives, plain ``exp``/``log``)
so that the vectorised loss can be checked against it in float64
(``tests/models/losses``) and timed against it (``benchmarks/bdcl_speed.py``).
Not part of the package. Definitions: the module doc of the loss.
"""
import math
from typing import Dict, List, Mapping, Optional, Tuple

import torch
from torch import Tensor

Key = Tuple[int, int]  # (modality index, sample index)


def _unit(v: Tensor) -> Tensor:
    return v / torch.sqrt((v * v).sum())


def _log_den(anchor: Tensor, anchor_key: Key, cands: List[Tuple[Key, Tensor, int]],
             opts: dict) -> Optional[Tensor]:
    """log D for one anchor; None when its denominator set is empty."""
    members: Dict[int, List[Tensor]] = {}
    for key, vec, lab in cands:
        if opts['exclude_anchor'] and key == anchor_key:
            continue
        members.setdefault(lab, []).append(vec)
    if not members:
        return None
    c_b = len(members) if opts['count_present_classes_only'] else opts['num_classes']
    total = 0.
    for vecs in members.values():
        class_sum = 0.
        for v in vecs:
            class_sum = class_sum + torch.exp(torch.dot(anchor, v) / opts['tau'])
        if opts['balanced']:
            total = total + class_sum / (c_b * len(vecs))
        else:
            total = total + class_sum
    return torch.log(total)


def reference_dual_contrastive(feats: Mapping[str, Tensor], labels: Tensor,
                               weight: Optional[Tensor] = None,
                               present: Optional[Mapping[str, Tensor]] = None,
                               tau: float = 0.1, normalize: bool = True,
                               exclude_anchor: bool = True,
                               count_present_classes_only: bool = True,
                               num_classes: Optional[int] = None,
                               inter_include_own_clip: bool = True,
                               balanced: bool = True) -> Dict[str, Tensor]:
    """Unscaled ``L_intra`` and ``L_inter`` (None when M == 1), by loops.

    Also returns ``log_d_intra`` / ``log_d_inter``: lists ``[m][i]`` of
    per-anchor ``log D`` (None for an empty denominator) for every sample,
    unlabelled ones included.
    """
    opts = dict(tau=tau, exclude_anchor=exclude_anchor, balanced=balanced,
                count_present_classes_only=count_present_classes_only,
                num_classes=num_classes)
    names = list(feats)
    M, B = len(names), len(labels)
    y = [int(v) for v in labels]
    w = [1.0] * B if weight is None else [weight[i] for i in range(B)]
    z = [[_unit(feats[n][i]) if normalize else feats[n][i] for i in range(B)]
         for n in names]

    def ok(m: int, i: int) -> bool:
        return y[i] >= 0 and (present is None or bool(present[names[m]][i]))

    def sim(a: Tensor, b: Tensor) -> Tensor:
        return torch.dot(a, b) / tau

    zero = sum(feats[n].sum() for n in names) * 0
    # L_intra: positives = same label, same modality, not the anchor.
    num, den, log_d_intra = zero, 0., [[None] * B for _ in range(M)]
    for m in range(M):
        cands = [((m, k), z[m][k], y[k]) for k in range(B) if ok(m, k)]
        for i in range(B):
            log_d = _log_den(z[m][i], (m, i), cands, opts)
            log_d_intra[m][i] = log_d
            if not ok(m, i):
                continue
            positives = [k for k in range(B) if k != i and ok(m, k) and y[k] == y[i]]
            if not positives:
                continue
            l_i = 0.
            for p in positives:
                l_i = l_i - (sim(z[m][i], z[m][p]) - log_d)
            num = num + w[i] * l_i / len(positives)
            den = den + w[i]
    intra = num / den if den > 0 else zero

    if M == 1:
        return dict(intra=intra, inter=None, log_d_intra=log_d_intra, log_d_inter=None)
    # L_inter: one positive per other modality of the same clip.
    num, den, log_d_inter = zero, 0., [[None] * B for _ in range(M)]
    for m in range(M):
        for i in range(B):
            cands = [((n, k), z[n][k], y[k]) for n in range(M) for k in range(B)
                     if ok(n, k) and (inter_include_own_clip or k != i or n == m)]
            log_d = _log_den(z[m][i], (m, i), cands, opts)
            log_d_inter[m][i] = log_d
            if not ok(m, i) or log_d is None:
                continue
            for n in range(M):
                if n != m and ok(n, i):
                    num = num + w[i] * -(sim(z[m][i], z[n][i]) - log_d)
                    den = den + w[i]
    inter = num / den if den > 0 else zero
    return dict(intra=intra, inter=inter, log_d_intra=log_d_intra,
                log_d_inter=log_d_inter)


def log_d_to_tensor(rows: List[List[Optional[Tensor]]]) -> Tensor:
    """``[m][i]`` lists of ``log D`` (or None) -> ``(M, B)`` with ``-inf``."""
    return torch.tensor([[-math.inf if v is None else v.detach().item() for v in row]
                         for row in rows], dtype=torch.float64)
