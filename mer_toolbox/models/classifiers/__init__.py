"""Classifiers (MODELS registry)."""
from .multimodal_classifier import MultimodalEmotionClassifier

__all__ = ["MultimodalEmotionClassifier"]
