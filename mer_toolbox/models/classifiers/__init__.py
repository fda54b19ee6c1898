"""Classifiers (MODELS registry)."""
from .multimodal_classifier import MultimodalEmotionClassifier
from .prior_guided_classifier import PriorGuidedEmotionClassifier

__all__ = ["MultimodalEmotionClassifier", "PriorGuidedEmotionClassifier"]
