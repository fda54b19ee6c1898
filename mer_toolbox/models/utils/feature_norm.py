"""Per-modality input standardisation whose statistics live in the checkpoint."""
from typing import Optional

import numpy as np
import torch
from torch import nn


class FeatureStandardizer(nn.Module):
    """``(x - mean) / std`` per feature dimension, with fitted statistics.

    Encoders' outputs differ wildly in scale (unit-norm sentence embeddings
    next to raw log-mel statistics), so each modality is standardised with
    statistics of the training split. They are buffers: saved with the
    checkpoint, restored on resume and at test time.

    Args:
        dim: feature size ``D``.
    """

    #: Largest ``|mean| / std`` that :meth:`fold_into` folds (float32 keeps
    #: about 1e-5 relative accuracy below it).
    MAX_FOLD_OFFSET = 100.0

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer('mean', torch.zeros(dim))
        self.register_buffer('std', torch.ones(dim))
        self.register_buffer('fitted', torch.tensor(False))

    def fit(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Set the statistics (``(D,)`` each) and mark the module fitted."""
        mean_t = torch.as_tensor(mean, dtype=self.mean.dtype)
        std_t = torch.as_tensor(std, dtype=self.std.dtype)
        if mean_t.shape != self.mean.shape or std_t.shape != self.std.shape:
            raise ValueError(f'statistics of shape {tuple(mean_t.shape)} do '
                             f'not fit a {self.mean.numel()}-d standardiser')
        if not bool((std_t > 0).all()):
            raise ValueError('standard deviations must be positive')
        self.mean.copy_(mean_t)
        self.std.copy_(std_t)
        self.fitted.fill_(True)

    @property
    def is_fitted(self) -> bool:
        return bool(self.fitted)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., D)`` -> ``(..., D)``."""
        return (x - self.mean) / self.std

    def fold_into(self, linear: nn.Linear) -> Optional[nn.Linear]:
        """A new Linear equal to ``linear`` applied after this standardiser.

        ``W ((x - mu) / sigma) + b = W' x + b'`` with ``W' = W / sigma`` (per
        input column) and ``b' = b - W' mu``: one pass over ``x`` instead of
        three. ``linear`` itself is not changed.

        In float32 the folded form loses about ``eps * |mu| / sigma``
        (relative) to cancellation between ``W' x`` and ``W' mu``, so a
        standardiser whose ``max |mu| / sigma`` exceeds
        :attr:`MAX_FOLD_OFFSET` is not folded.

        Returns:
            the folded Linear, or None when the offsets are too large to
            fold without visible rounding error.

        Raises:
            RuntimeError: the statistics are not fitted.
            ValueError: ``linear.in_features`` is not ``D``.
        """
        if not self.is_fitted:
            raise RuntimeError('cannot fold unfitted input statistics')
        if linear.in_features != self.mean.numel():
            raise ValueError(f'a {self.mean.numel()}-d standardiser cannot '
                             f'fold into Linear({linear.in_features}, '
                             f'{linear.out_features})')
        if float((self.mean.abs() / self.std).max()) > self.MAX_FOLD_OFFSET:
            return None
        folded = nn.Linear(linear.in_features, linear.out_features,
                           bias=True, device=linear.weight.device,
                           dtype=linear.weight.dtype)
        with torch.no_grad():
            # in float64 (on the CPU: not every accelerator has it), so the
            # fold adds no rounding of its own
            weight = linear.weight.cpu().double() / \
                self.std.cpu().double()  # (O, D)
            bias = (linear.bias.cpu().double() if linear.bias is not None
                    else weight.new_zeros(linear.out_features))
            folded.weight.copy_(weight)
            folded.bias.copy_(bias - weight @ self.mean.cpu().double())  # (O,)
        folded.train(linear.training)
        return folded
