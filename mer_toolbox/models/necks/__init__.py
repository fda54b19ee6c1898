"""Fusion necks (FUSION_NECKS registry)."""
from .attention_fusion import AttentionFusionNeck, ConcatFusionNeck

__all__ = ["AttentionFusionNeck", "ConcatFusionNeck"]
