"""Per-modality input standardisation whose statistics live in the checkpoint."""
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
