"""Fusion necks (FUSION_NECKS registry)."""
from .attention_fusion import AttentionFusionNeck, ConcatFusionNeck
from .prior_guided_fusion import PriorGuidedFusionNeck

__all__ = ["AttentionFusionNeck", "ConcatFusionNeck", "PriorGuidedFusionNeck"]
