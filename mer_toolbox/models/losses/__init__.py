"""Losses: cross-entropy (plain, class-weighted, logit-adjusted, balanced
softmax), BDCL and its unbalanced ablation.

Importing this package registers every loss in ``mer_toolbox.registry.LOSSES``
(the registry's ``locations`` imports it on the first build).
"""
from .cross_entropy_loss import CrossEntropyLoss
from .logit_adjusted_loss import (BalancedSoftmaxLoss,
                                  LogitAdjustedCrossEntropyLoss)
from .dual_contrastive_loss import (BalancedDualContrastiveLoss, DualContrastiveLoss,
                                    UnbalancedDualContrastiveLoss)

__all__ = ['CrossEntropyLoss', 'LogitAdjustedCrossEntropyLoss',
           'BalancedSoftmaxLoss', 'DualContrastiveLoss', 'BalancedDualContrastiveLoss',
           'UnbalancedDualContrastiveLoss']
