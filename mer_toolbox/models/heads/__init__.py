"""Classification heads (HEADS registry)."""
from .cls_head import LinearClsHead, labels_and_weights

__all__ = ["LinearClsHead", "labels_and_weights"]
