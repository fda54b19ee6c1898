"""Training hooks (HOOKS registry)."""
from .checkpoint_hook import RelocatableCheckpointHook
from .class_count_hook import ClassCountHook
from .epoch_seed_hook import EpochSeedHook
from .feature_norm_hook import FeatureNormHook
from .iter_timer_hook import EpochAwareIterTimerHook
from .pseudo_label_hook import PseudoLabelHook, find_semi_supervised
from .pseudo_label_selection import select_pseudo_labels
from .stage_one_checkpoint_hook import StageOneCheckpointHook

__all__ = ['ClassCountHook', 'FeatureNormHook', 'PseudoLabelHook', 'EpochSeedHook',
           'select_pseudo_labels', 'find_semi_supervised',
           'StageOneCheckpointHook', 'RelocatableCheckpointHook',
           'EpochAwareIterTimerHook']
