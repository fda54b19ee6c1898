"""Per-modality encoders (ENCODERS registry)."""
from . import raw  # noqa: F401  (raw-media encoders: CLIP, HuBERT, LMs, timm)
from .feature_projector import (MLPFeatureProjector, TransformerSequenceEncoder,
                                masked_mean)
from .prior_projector import PriorProjector

__all__ = ['MLPFeatureProjector', 'TransformerSequenceEncoder', 'masked_mean',
           'PriorProjector']
