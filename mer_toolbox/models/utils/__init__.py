"""Building blocks shared by models."""
from .feature_norm import FeatureStandardizer

__all__ = ["FeatureStandardizer"]
