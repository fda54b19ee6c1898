"""Per-modality encoders (ENCODERS registry)."""
from .feature_projector import (MLPFeatureProjector, TransformerSequenceEncoder,
                                masked_mean)

__all__ = ['MLPFeatureProjector', 'TransformerSequenceEncoder', 'masked_mean']
