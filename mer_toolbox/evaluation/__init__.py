"""Evaluation: pure metric functions and the MMEngine metric.

``METRICS`` lists this package in its ``locations``, so building
``dict(type='EmotionMetric')`` imports it and registers the metric.
"""
from .functional import (confusion_matrix, emotion_metrics, format_metric_table,
                         per_class_markdown)
from .metrics import EmotionMetric

__all__ = ['EmotionMetric', 'confusion_matrix', 'emotion_metrics',
           'format_metric_table', 'per_class_markdown']
