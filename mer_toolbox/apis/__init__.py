"""Inference on one clip: from its features or from the raw video."""
from .feature_mapping import (ModalityMismatchError, match_feature_sets,
                              training_feature_folders)
from .inference import (CheckpointMismatchError, build_extractor,
                        inference_clip, inference_features, init_model)

__all__ = [
    'init_model', 'inference_features', 'inference_clip', 'build_extractor',
    'training_feature_folders', 'match_feature_sets',
    'ModalityMismatchError', 'CheckpointMismatchError'
]
