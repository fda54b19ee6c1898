r"""Logit-adjusted cross-entropy and balanced softmax for imbalanced classes.

Logit adjustment (Menon et al., "Long-tail learning via logit adjustment",
ICLR 2021, eq. 10) trains on ``logits + tau * log(pi)`` where ``pi`` is the
training label prior, and predicts with the raw logits. The network then
learns scores calibrated for a *balanced* label distribution: rare classes
stop losing every close call to the head class. Balanced softmax (Ren et al.,
"Balanced Meta-Softmax", NeurIPS 2020) is the same loss with ``tau = 1``.

The prior comes from the labelled training split (``ClassCountHook`` calls
:meth:`set_class_counts` before the first iteration), or from
``class_counts`` given in the config.
"""
from typing import Optional, Sequence

import torch
from torch import Tensor

from mer_toolbox.registry import LOSSES
from .cross_entropy_loss import CrossEntropyLoss


@LOSSES.register_module()
class LogitAdjustedCrossEntropyLoss(CrossEntropyLoss):
    """Cross-entropy on ``logits + tau * log(pi)`` (Menon et al. 2021).

    Args:
        tau: strength of the adjustment (0: plain cross-entropy). Defaults
            to 1.0.
        class_counts: training class counts ``(C,)``; ``None`` waits for
            ``ClassCountHook``.
        **kwargs: :class:`CrossEntropyLoss` arguments (``loss_weight``,
            ``label_smoothing``; class weights are not combined with the
            adjustment).
    """

    def __init__(self, tau: float = 1.0,
                 class_counts: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        if kwargs.get('class_weight') is not None:
            raise ValueError('logit adjustment already rebalances the '
                             'classes; do not combine it with class_weight')
        super().__init__(**kwargs)
        if tau < 0:
            raise ValueError(f'tau must be >= 0, got {tau}')
        self.tau = tau
        self.log_prior: Optional[Tensor] = None  # (C,)
        if class_counts is not None:
            self.set_class_counts(class_counts)

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Set the prior ``pi_k = n_k / N`` from class counts ``(C,)``."""
        counts = torch.as_tensor([float(n) for n in counts])
        if counts.numel() == 0 or bool((counts <= 0).any()):
            raise ValueError('logit adjustment needs a positive count for '
                             f'every class, got {counts.tolist()}')
        self.log_prior = (counts / counts.sum()).log()

    def forward(self, logits: Tensor, labels: Tensor,
                weight: Optional[Tensor] = None) -> Tensor:
        """Adjusted cross-entropy of ``logits (B, C)`` (see the class doc)."""
        if self.log_prior is None:
            raise RuntimeError(
                f'{type(self).__name__} has no class prior: add '
                "dict(type='ClassCountHook') to custom_hooks or give "
                'class_counts')
        if self.log_prior.numel() != logits.shape[-1]:
            raise ValueError(f'the class prior has {self.log_prior.numel()} '
                             f'classes, the logits {logits.shape[-1]}')
        adjust = self.tau * self.log_prior.to(logits)  # (C,)
        return super().forward(logits + adjust, labels, weight)


@LOSSES.register_module()
class BalancedSoftmaxLoss(LogitAdjustedCrossEntropyLoss):
    """Balanced softmax (Ren et al. 2020): logit adjustment with ``tau = 1``.

    Args:
        class_counts: training class counts ``(C,)`` (default: from
            ``ClassCountHook``).
        **kwargs: :class:`CrossEntropyLoss` arguments.
    """

    def __init__(self, class_counts: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        super().__init__(tau=1.0, class_counts=class_counts, **kwargs)
