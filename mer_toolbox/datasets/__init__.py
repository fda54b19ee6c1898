"""Feature datasets and the demo data (feature stores: :mod:`..fileio`)."""
from .class_balanced_sampler import ClassBalancedSampler
from .demo import ensure_demo_data, read_hidden_labels
from .demo_dataset import DemoMERDataset
from .demo_priors import (DEMO_PRIOR_FILE, demo_prior_report,
                          ensure_demo_priors)
from .extra_data import ExtraLabelledDataset
from .feature_folder_dataset import (FeatureFolderDataset,
                                     describe_feature_folder,
                                     resolve_auto_fields)
from .mer_feature_dataset import MERFeatureDataset, clip_names_of
from .pseudo_label_table import PseudoLabelTable, names_fingerprint
from .semi_supervised import SemiSupervisedDataset, SemiSupervisedSampler

__all__ = [
    'MERFeatureDataset', 'FeatureFolderDataset', 'describe_feature_folder',
    'resolve_auto_fields', 'ClassBalancedSampler', 'DemoMERDataset',
    'ensure_demo_data', 'read_hidden_labels', 'PseudoLabelTable',
    'names_fingerprint', 'SemiSupervisedDataset', 'SemiSupervisedSampler', 'ExtraLabelledDataset', 'DEMO_PRIOR_FILE',
    'demo_prior_report', 'ensure_demo_priors', 'clip_names_of'
]
