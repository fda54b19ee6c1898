"""MMEngine metrics (importing this registers them in ``METRICS``)."""
from .emotion_metric import EmotionMetric

__all__ = ['EmotionMetric']
