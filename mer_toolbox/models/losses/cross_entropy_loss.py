"""Cross-entropy of the classification head, aware of pseudo-label weights."""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mer_toolbox.registry import LOSSES


@LOSSES.register_module()
class CrossEntropyLoss(nn.Module):
    """Softmax cross-entropy with ignored unlabelled samples and sample weights.

    With per-sample loss ``l_i`` (torch's, i.e. already scaled by the class
    weight ``c_{y_i}``), sample weight ``w_i`` (1 for labelled clips, the
    confidence for pseudo-labelled ones) and valid samples ``V = {i: y_i >=
    0}``::

        L = loss_weight * sum_{i in V} w_i * l_i / sum_{i in V} w_i * c_{y_i}

    which is exactly ``F.cross_entropy(..., reduction='mean')`` when all
    ``w_i = 1`` (class weights and label smoothing included).

    Args:
        loss_weight: multiplier of the loss. Defaults to 1.0.
        class_weight: optional per-class weights ``(C,)``, or ``'balanced'``:
            ``c_k = N / (C * n_k)`` from the labelled training split's class
            counts ``n_k`` (set before training by ``ClassCountHook``; the
            class-weighted CE of the imbalance ablations).
        label_smoothing: as in :func:`torch.nn.functional.cross_entropy`.
            Defaults to 0.0.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 class_weight: Union[Sequence[float], str, None] = None,
                 label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.balanced = class_weight == 'balanced'
        if isinstance(class_weight, str) and not self.balanced:
            raise ValueError("class_weight must be a list of floats or "
                             f"'balanced', got {class_weight!r}")
        # A list, not a buffer: it is config, and checkpoints stay free of it.
        self.class_weight = None if class_weight is None or self.balanced \
            else list(class_weight)
        self.label_smoothing = label_smoothing

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Receive the labelled training split's class counts ``(C,)``."""
        if not self.balanced:
            return
        counts = [int(n) for n in counts]
        if min(counts) <= 0:
            raise ValueError(f"class_weight='balanced' needs every class in "
                             f'the training labels; class counts {counts}')
        total, num = sum(counts), len(counts)
        self.class_weight = [total / (num * n) for n in counts]

    def forward(self, logits: Tensor, labels: Tensor,
                weight: Optional[Tensor] = None) -> Tensor:
        """Weighted mean cross-entropy.

        Args:
            logits: ``(B, C)`` unnormalised class scores.
            labels: ``(B,)`` long class ids, ``-1`` for samples to ignore.
            weight: optional ``(B,)`` per-sample weights.

        Returns:
            Scalar loss; 0 (with a gradient path) when no sample is valid.
        """
        if logits.dim() != 2 or labels.shape != logits.shape[:1]:
            raise ValueError('expected logits (B, C) and labels (B,), got '
                             f'{tuple(logits.shape)} and {tuple(labels.shape)}.')
        num_classes = logits.shape[1]
        if self.balanced and self.class_weight is None:
            raise RuntimeError(
                "CrossEntropyLoss(class_weight='balanced') has no class "
                "counts: add dict(type='ClassCountHook') to custom_hooks")
        labels = labels.long()
        if labels.numel():
            lo, hi = torch.stack([labels.min(), labels.max()]).tolist()
            if lo < -1 or hi >= num_classes:
                raise ValueError(f'labels must lie in [-1, {num_classes}) '
                                 f'(-1 = ignored), got [{lo}, {hi}].')
        if self.class_weight is not None and len(self.class_weight) != num_classes:
            raise ValueError(f'class_weight has {len(self.class_weight)} '
                             f'entries for {num_classes} classes.')
        class_weight = None if self.class_weight is None else \
            logits.new_tensor(self.class_weight)  # (C,)

        per_sample = F.cross_entropy(
            logits, labels, weight=class_weight, ignore_index=-1,
            reduction='none', label_smoothing=self.label_smoothing)  # (B,)
        valid = labels.ge(0)  # (B,)
        w = logits.new_ones(labels.shape) if weight is None else weight.to(logits.dtype)
        if w.shape != labels.shape:
            raise ValueError(f'weight must have shape {tuple(labels.shape)}, '
                             f'got {tuple(w.shape)}.')
        w = w * valid
        norm = w if class_weight is None else w * class_weight[labels.clamp(min=0)]
        # Ignored samples have l_i = 0 and w_i = 0: an all-ignored batch gives
        # 0 / tiny = 0, still attached to the graph.
        loss = (w * per_sample).sum() / norm.sum().clamp(min=torch.finfo(w.dtype).tiny)
        return self.loss_weight * loss
