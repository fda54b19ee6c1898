"""Pure metric functions (numpy in, plain Python / numpy out)."""
from .emotion_metrics import confusion_matrix, emotion_metrics
from .metric_tables import format_metric_table, per_class_markdown
from .predictions_csv import write_predictions_csv

__all__ = ['confusion_matrix', 'emotion_metrics', 'format_metric_table',
           'per_class_markdown', 'write_predictions_csv']
