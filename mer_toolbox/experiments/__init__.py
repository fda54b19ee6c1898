"""Experiment tooling on top of ordinary training runs: K-fold
cross-validation with fold ensembles, multi-seed summaries and Optuna
hyper-parameter search (``tools/cross_validate.py``, ``tools/sweep.py``)."""
from .cross_validation import CrossValidation, Member, labelled_train_dataset
from .folds import make_folds

__all__ = ['CrossValidation', 'Member', 'labelled_train_dataset', 'make_folds']
