r"""Balanced Dual-Contrastive Learning (BDCL) and its unbalanced ablation.

Paper: arXiv 2508.03722, Sec. 3 (BDCL). ``z_m[i]`` is clip ``i``'s projected,
L2-normalised embedding of modality ``m`` (video ``v``, audio ``a``, text ``t``,
or any names), ``s_ik = z_i . z_k`` and ``tau`` the temperature.

Class-balanced denominator (eq. 5) of an anchor ``i`` over a candidate set
``K(i)`` (the anchor itself is left out: ``exclude_anchor``)::

    B_c(i) = {k in K(i) : y_k = c}          C_B(i) = #{c : |B_c(i)| > 0}
    D_i    = (1 / C_B(i)) * sum_c (1 / |B_c(i)|) * sum_{k in B_c(i)} exp(s_ik / tau)
    log D_i = logsumexp_k( s_ik / tau - log C_B(i) - log |B_{y_k}(i)| )

so each class that has a member in the denominator gets the same share of
negative mass however many samples it has. ``C_B(i)`` counts the classes with
at least one member *after* the exclusion (a class whose only member is the
anchor is not counted); with ``count_present_classes_only=False`` it is the
constant ``num_classes``. The unbalanced ablation uses ``D_i = sum_{k in K(i)}
exp(s_ik / tau)`` (ordinary InfoNCE).

Per-anchor loss, supervised InfoNCE form, for a positive set ``P(i)``::

    l_i = -(1 / |P(i)|) * sum_{p in P(i)} [ s_ip / tau - log D_i ]

* ``L_intra`` (eq. 6; per modality ``m``): ``K(i)`` is modality ``m``'s labelled
  embeddings, ``P(i)`` the other same-label ones (never the anchor itself).
  Averaged over all anchors of all modalities with ``|P(i)| >= 1``.
* ``L_inter`` (eq. 7): anchor ``z_m[i]``, ``K(i)`` holds every modality's labelled
  embeddings (with ``inter_include_own_clip`` also the anchor clip's other
  modalities, hence the positive), and for each ``n != m`` the single positive
  ``z_n[i]``. Averaged over all ``M * (M - 1) * N`` directed terms
  (``2 * P * N`` for ``P`` unordered modality pairs).

Positives stay in the denominator, as in InfoNCE (except the inter positive
when ``inter_include_own_clip=False``; then ``l_i`` may be negative). Anchors
whose denominator set is empty are left out.

``L_BDCL = lam_inter * L_inter + lam_intra * L_intra`` (eq. 8). Averages are weighted
by the per-sample weights (pseudo-label confidence); unlabelled samples
(label ``-1``) and masked-out modalities take part neither as anchors nor in
any denominator. Half-precision inputs are computed in float32.

Distributed (``gather_distributed=True``): ``N`` is the global batch, anchors
are the local samples, and each rank returns ``world_size * sum_local / sum_
global`` (weights included), so the *mean over ranks* is the full-batch loss
and, with DDP averaging gradients, the update equals the single-process one.
"""
from typing import Dict, Mapping, NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mer_toolbox.registry import LOSSES
from .dist_utils import all_gather_cat, all_reduce_sum, distributed_world_size


class AnchorTerms(NamedTuple):
    """Per-anchor quantities of one forward pass (local anchors).

    ``intra``/``intra_mask`` ``(M, B)``; ``inter``/``inter_mask`` ``(B, M, M)``
    indexed ``[i, m, n]`` for anchor ``z_m[i]`` and positive ``z_n[i]``;
    ``log_d_intra``/``log_d_inter`` ``(M, B)``, ``-inf`` where the
    denominator set is empty.
    """
    intra: Tensor
    intra_mask: Tensor
    inter: Tensor
    inter_mask: Tensor
    log_d_intra: Tensor
    log_d_inter: Tensor


class DualContrastiveLoss(nn.Module):
    """Intra- plus inter-modal supervised contrastive loss (module doc).

    Use the registered :class:`BalancedDualContrastiveLoss` or
    :class:`UnbalancedDualContrastiveLoss`; they differ only in ``balanced``.

    Args:
        tau: temperature. Defaults to 0.1.
        lam_inter: weight of ``L_inter``. Defaults to 0.2.
        lam_intra: weight of ``L_intra``. Defaults to 0.2.
        normalize: L2-normalise the inputs first. Defaults to True.
        exclude_anchor: drop the anchor from its denominator (sum and
            ``|B_c|``), as in InfoNCE. Defaults to True.
        count_present_classes_only: ``C_B`` counts only classes with a member
            in the anchor's denominator set; False uses ``num_classes``.
            Defaults to True.
        num_classes: number of classes; needed when
            ``count_present_classes_only=False``, else only validates labels.
        inter_include_own_clip: in ``L_inter`` the denominator holds the anchor
            clip's other modalities too (so the positive). Defaults to True.
        gather_distributed: under ``torch.distributed`` with world size > 1,
            denominators and positives span the global batch (anchors stay
            local). The local loss is scaled so that its mean over ranks is
            the full-batch loss, hence DDP's gradient averaging yields the
            full-batch gradient. Defaults to False.
        memory_size: keep the last ``memory_size`` labelled clips' embeddings
            (detached, MoCo-style queue) and add them to every training
            batch as candidates: they are positives and denominator members
            but never anchors (weight 0), so a rare class has positives even
            when a batch holds one of its clips. 0 (default) is the exact
            batch loss. The queue lives in memory only (a resumed run
            refills it) and is per rank.
    """

    balanced: bool = True
    loss_prefix: str = 'loss_bdcl'

    def __init__(self,
                 tau: float = 0.1,
                 lam_inter: float = 0.2,
                 lam_intra: float = 0.2,
                 normalize: bool = True,
                 exclude_anchor: bool = True,
                 count_present_classes_only: bool = True,
                 num_classes: Optional[int] = None,
                 inter_include_own_clip: bool = True,
                 gather_distributed: bool = False,
                 memory_size: int = 0) -> None:
        super().__init__()
        if memory_size < 0:
            raise ValueError(f'memory_size must be >= 0, got {memory_size}.')
        if tau <= 0:
            raise ValueError(f'tau must be > 0, got {tau}.')
        if not count_present_classes_only and not num_classes:
            raise ValueError('count_present_classes_only=False needs '
                             'num_classes (the constant C_B).')
        self.tau = tau
        self.lam_inter = lam_inter
        self.lam_intra = lam_intra
        self.normalize = normalize
        self.exclude_anchor = exclude_anchor
        self.count_present_classes_only = count_present_classes_only
        self.num_classes = num_classes
        self.inter_include_own_clip = inter_include_own_clip
        self.gather_distributed = gather_distributed
        self.memory_size = memory_size
        # queue: {modality: (Q, D)} embeddings, labels (Q,), present {m: (Q,)}
        self._memory: Optional[dict] = None

    def forward(self,
                feats: Mapping[str, Tensor],
                labels: Tensor,
                weight: Optional[Tensor] = None,
                present: Optional[Mapping[str, Tensor]] = None
                ) -> Dict[str, Tensor]:
        """Compute the weighted loss terms.

        Args:
            feats: modality name -> embeddings ``(B, D)``, ``M >= 1`` entries.
            labels: ``(B,)`` long, ``-1`` for unlabelled samples.
            weight: optional ``(B,)`` per-sample weights of the anchors.
            present: optional modality name -> ``(B,)`` bool; False masks that
                embedding out (a missing modality) everywhere.

        Returns:
            ``{prefix + '_intra': lam_intra * L_intra, prefix + '_inter':
            lam_inter * L_inter}`` scalars (no ``_inter`` key when ``M == 1``);
            0 with a gradient path where no term exists.
        """
        if self.memory_size and self.training:
            feats, labels, weight, present = self._with_memory(
                feats, labels, weight, present)
        z, labels, valid = self._prepare(feats, labels, present)
        w = torch.ones_like(labels, dtype=z.dtype) if weight is None \
            else weight.to(z.dtype)  # (B,)
        if w.shape != labels.shape:
            raise ValueError(f'weight must have shape {tuple(labels.shape)}, '
                             f'got {tuple(w.shape)}.')
        # Collectives start here: every check that may raise comes before.
        world = distributed_world_size() if self.gather_distributed else 1
        t = self._anchor_terms(z, labels, valid, world > 1)

        w_intra = w[None] * t.intra_mask  # (M, B)
        w_inter = w[:, None, None] * t.inter_mask  # (B, M, M)
        nums = torch.stack([(t.intra.masked_fill(~t.intra_mask, 0) * w_intra).sum(),
                            (t.inter.masked_fill(~t.inter_mask, 0) * w_inter).sum()])
        dens = torch.stack([w_intra.sum(), w_inter.sum()]).detach()
        if world > 1:
            # Normalise by the global weight and undo DDP's 1/world average.
            nums, dens = nums * world, all_reduce_sum(dens)
        # An empty term has num == 0 exactly: 0 / tiny keeps a zero with grad.
        means = nums / dens.clamp(min=torch.finfo(dens.dtype).tiny)
        # eq. 8: L_BDCL = lam_inter * L_inter + lam_intra * L_intra, kept as
        # two logged terms (MMEngine's parse_losses adds them up)
        losses = {f'{self.loss_prefix}_intra': self.lam_intra * means[0]}
        if z.shape[0] > 1:
            losses[f'{self.loss_prefix}_inter'] = self.lam_inter * means[1]
        return losses

    @torch.no_grad()
    def log_denominators(self, feats: Mapping[str, Tensor], labels: Tensor,
                         present: Optional[Mapping[str, Tensor]] = None
                         ) -> Dict[str, Tensor]:
        """Per-anchor ``log D_i`` of every local sample (single process).

        Returns:
            ``{'intra': (M, B), 'inter': (M, B)}``; ``-inf`` where the
            anchor's denominator set is empty. Unlabelled anchors get the
            value they would have, though the loss ignores them.
        """
        z, labels, valid = self._prepare(feats, labels, present)
        t = self._anchor_terms(z, labels, valid, gather=False)
        return dict(intra=t.log_d_intra, inter=t.log_d_inter)

    # -- internals ---------------------------------------------------------
    def _with_memory(self, feats: Mapping[str, Tensor], labels: Tensor,
                     weight: Optional[Tensor],
                     present: Optional[Mapping[str, Tensor]]):
        """The batch followed by the queue (weight 0); then enqueue it."""
        b = labels.shape[0]
        weight = labels.new_ones(b, dtype=torch.float) if weight is None \
            else weight
        present = {m: (present[m].bool() if present is not None
                       and m in present else labels.new_ones(b, dtype=torch.bool))
                   for m in feats}
        memory = self._memory
        if memory is not None and set(memory['feats']) != set(feats):
            memory = None  # modalities changed: start a new queue
        keep = labels.ge(0)  # (B,) only labelled clips are remembered
        new = dict(feats={m: f.detach()[keep] for m, f in feats.items()},
                   labels=labels[keep], present={m: p[keep] for m, p in present.items()})
        if memory is None:
            self._memory = new
            return feats, labels, weight, present
        q = len(memory['labels'])
        out = ({m: torch.cat([f, memory['feats'][m].to(f)]) for m, f in feats.items()},
               torch.cat([labels, memory['labels'].to(labels.device)]),
               torch.cat([weight, weight.new_zeros(q)]),
               {m: torch.cat([p, memory['present'][m].to(p.device)])
                for m, p in present.items()})
        cut = self.memory_size  # newest first, oldest dropped
        self._memory = dict(
            feats={m: torch.cat([new['feats'][m], memory['feats'][m]])[:cut] for m in feats},
            labels=torch.cat([new['labels'], memory['labels']])[:cut],
            present={m: torch.cat([new['present'][m], memory['present'][m]])[:cut]
                     for m in feats})
        return out

    def _prepare(self, feats: Mapping[str, Tensor], labels: Tensor,
                 present: Optional[Mapping[str, Tensor]]):
        if not feats:
            raise ValueError('feats is empty: at least one modality needed.')
        shapes = {name: tuple(f.shape) for name, f in feats.items()}
        if len(set(shapes.values())) != 1 or len(next(iter(shapes.values()))) != 2:
            raise ValueError('every modality needs (B, D) embeddings of one '
                             f'shape, got {shapes}.')
        z = torch.stack(list(feats.values()))  # (M, B, D)
        if z.dtype in (torch.float16, torch.bfloat16):
            z = z.float()  # exp(s / tau) sums are not safe in half precision
        if self.normalize:
            z = F.normalize(z, dim=-1)
        if labels.shape != (z.shape[1],):
            raise ValueError(f'labels must have shape ({z.shape[1]},), got '
                             f'{tuple(labels.shape)}.')
        labels = labels.long()
        if labels.numel():
            lo, hi = torch.stack([labels.min(), labels.max()]).tolist()
            if lo < -1 or (self.num_classes and hi >= self.num_classes):
                top = self.num_classes or 'num_classes'
                raise ValueError(f'labels must lie in [-1, {top}) '
                                 f'(-1 = unlabelled), got [{lo}, {hi}].')
        valid = labels.ge(0)[None].expand(z.shape[:2])  # (M, B)
        if present is not None:
            missing = sorted(set(feats) - set(present))
            if missing:
                raise ValueError(f'present has no mask for modalities {missing}.')
            mask = torch.stack([present[n].bool() for n in feats])  # (M, B)
            if mask.shape != valid.shape:
                raise ValueError(f'present masks must be (B,) = ({z.shape[1]},).')
            valid = valid & mask
        return z, labels, valid

    def _anchor_terms(self, z: Tensor, labels: Tensor, valid: Tensor,
                      gather: bool) -> AnchorTerms:
        M, B, D = z.shape
        if gather:
            # Rows are clips: gather (B, M, D) so each rank keeps whole clips.
            z_all, offset = all_gather_cat(z.transpose(0, 1))
            z_all = z_all.transpose(0, 1)  # (M, N, D)
            meta = torch.cat([labels[:, None], valid.T.long()], dim=1)
            meta_all, _ = all_gather_cat(meta)  # (N, 1 + M)
            labels_all, valid_all = meta_all[:, 0], meta_all[:, 1:].T.bool()
        else:
            z_all, offset, labels_all, valid_all = z, 0, labels, valid
        N, C, dt = z_all.shape[1], self._num_classes(labels_all), z.dtype
        ar = torch.arange(B, device=z.device)
        anchor_idx = offset + ar  # (B,) index of each local anchor in the global batch
        lab = labels.clamp(min=0)  # (B,) -1 only ever meets masked entries
        v = valid.to(dt)  # (M, B)

        # Class sizes |B_c(i)| of every denominator set, in closed form: global
        # counts minus what the exclusions remove from the anchor's own class.
        onehot_all = F.one_hot(labels_all.clamp(min=0), C).to(dt)  # (N, C)
        valid_oh = valid_all.to(dt)[..., None] * onehot_all  # (M, N, C)
        per_mod = valid_oh.sum(1)  # (M, C)
        onehot = F.one_hot(lab, C).to(dt)  # (B, C)
        removed = v if self.exclude_anchor else torch.zeros_like(v)  # (M, B)
        counts_intra = per_mod[:, None] - removed[..., None] * onehot  # (M, B, C)
        if not self.inter_include_own_clip:
            removed = removed + (v.sum(0, keepdim=True) - v)  # clip's other modalities
        counts_inter = per_mod.sum(0) - removed[..., None] * onehot  # (M, B, C)

        za = z / self.tau  # (M, B, D) folds 1/tau into the anchors
        s = (za.reshape(M * B, D) @ z_all.reshape(M * N, D).T).view(M, B, M, N)
        # Candidates outside every denominator (unlabelled, missing) get class C.
        cand_cls = torch.where(valid_all, labels_all, C)  # (M, N)

        # L_intra (eq. 6): the M diagonal modality blocks of s.
        s_intra = s.diagonal(dim1=0, dim2=2).permute(2, 0, 1)  # (M, B, N)
        log_w = self._log_weights(counts_intra, cand_cls[:, None].expand(M, B, N))
        if self.exclude_anchor:
            log_w[:, ar, anchor_idx] = float('-inf')
        log_d_intra, has_d_intra = self._log_denominator(s_intra, log_w, counts_intra)
        # sum_{p in P(i)} z_p = class sum - the anchor itself (never a positive)
        class_sum = valid_oh.transpose(1, 2) @ z_all  # (M, C, D)
        pos_sum = class_sum[:, lab] - v[..., None] * z  # (M, B, D)
        n_pos = per_mod[:, lab] - v  # (M, B)
        mean_pos = (za * pos_sum).sum(-1) / n_pos.clamp(min=1)  # (M, B)
        intra = log_d_intra - mean_pos  # (M, B) eq. 6 per anchor
        intra_mask = valid & (n_pos > 0)

        # L_inter (eq. 7): denominator over all modalities; positive z_n[i],
        # n != m.
        log_w = self._log_weights(counts_inter, cand_cls.reshape(1, 1, M * N).expand(M, B, -1))
        log_w4 = log_w.view(M, B, M, N)
        for m in range(M):
            for n in range(M):
                if (self.exclude_anchor if n == m else not self.inter_include_own_clip):
                    log_w4[m, ar, n, anchor_idx] = float('-inf')
        log_d_inter, has_d_inter = self._log_denominator(
            s.reshape(M, B, M * N), log_w, counts_inter)  # (M, B)
        s_pos = torch.einsum('mbd,nbd->bmn', za, z)  # (B, M, M)
        inter = log_d_inter.T[:, :, None] - s_pos  # (B, M, M) eq. 7 per term
        same_mod = torch.eye(M, dtype=torch.bool, device=z.device)  # (M, M)
        inter_mask = (valid.T[:, :, None] & valid.T[:, None, :]
                      & ~same_mod & has_d_inter.T[:, :, None])  # (B, M, M)

        neg_inf = torch.full_like(log_d_intra, float('-inf'))
        return AnchorTerms(intra, intra_mask, inter, inter_mask,
                           torch.where(has_d_intra, log_d_intra, neg_inf),
                           torch.where(has_d_inter, log_d_inter, neg_inf))

    def _num_classes(self, labels_all: Tensor) -> int:
        if self.num_classes:
            return self.num_classes
        return max(int(labels_all.max()) + 1, 1) if labels_all.numel() else 1

    def _log_weights(self, counts: Tensor, cand_cls: Tensor) -> Tensor:
        """Log-weight of each candidate in ``log D`` (eq. 5; no gradient).

        Args:
            counts: ``(M, B, C)`` class sizes ``|B_c(i)|`` of each anchor.
            cand_cls: ``(M, B, K)`` candidate class, ``C`` outside the set.

        Returns:
            ``(M, B, K)``: ``-log C_B(i) - log |B_{y_k}(i)|`` (balanced) or 0,
            ``-inf`` for class ``C``. Excluded anchors are set by the caller.
        """
        if self.balanced:
            if self.count_present_classes_only:
                c_b = (counts > 0).sum(-1, keepdim=True).to(counts.dtype)  # (M, B, 1)
            else:
                c_b = counts.new_full((*counts.shape[:-1], 1), float(self.num_classes))
            # eq. 5: the 1 / C_B and 1 / |B_c| factors, as logs
            # (clamps only touch classes without members, never selected below)
            table = -counts.clamp(min=1).log() - c_b.clamp(min=1).log()  # (M, B, C)
        else:
            table = torch.zeros_like(counts)
        table = torch.cat([table, torch.full_like(table[..., :1], float('-inf'))], -1)
        return table.gather(-1, cand_cls)  # (M, B, K)

    @staticmethod
    def _log_denominator(logits: Tensor, log_w: Tensor, counts: Tensor):
        """``log D = logsumexp_k(s_ik / tau + log_w_ik)`` (eq. 5), stable.

        Args:
            logits: ``(M, B, K)`` values ``s_ik / tau``.
            log_w: ``(M, B, K)`` from :meth:`_log_weights`, modified in place.
            counts: ``(M, B, C)`` class sizes of the denominator sets.

        Returns:
            ``(log_d, has_d)`` both ``(M, B)``; ``log_d`` is finite but
            meaningless where ``has_d`` is False (empty denominator set).
        """
        has_d = counts.sum(-1) > 0  # (M, B)
        # An all -inf row would give NaN gradients through logsumexp.
        log_w[~has_d] = 0.
        return torch.logsumexp(logits + log_w, dim=-1), has_d


@LOSSES.register_module()
class BalancedDualContrastiveLoss(DualContrastiveLoss):
    """BDCL (arXiv 2508.03722, Sec. 3, eqs. 5-8): class-balanced
    denominators.

    Returns ``loss_bdcl_intra`` and ``loss_bdcl_inter``. Arguments and
    equations: :class:`DualContrastiveLoss` and the module doc.
    """

    balanced = True
    loss_prefix = 'loss_bdcl'


@LOSSES.register_module()
class UnbalancedDualContrastiveLoss(DualContrastiveLoss):
    """Ablation of BDCL with the ordinary InfoNCE denominator.

    ``D_i = sum_{k in K(i)} exp(s_ik / tau)``; everything else as in
    :class:`BalancedDualContrastiveLoss`. Returns ``loss_dcl_intra`` and
    ``loss_dcl_inter``.
    """

    balanced = False
    loss_prefix = 'loss_dcl'
