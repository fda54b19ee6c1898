"""Training hooks (HOOKS registry)."""
from .feature_norm_hook import FeatureNormHook

__all__ = ['FeatureNormHook']
