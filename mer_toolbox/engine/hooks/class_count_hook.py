"""Hand the labelled training split's class counts to the losses."""
import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ...registry import HOOKS
from .feature_norm_hook import labelled_feature_datasets


def feed_class_counts(runner) -> None:
    """Give every ``set_class_counts`` module the training class counts.

    Every module of the model with a ``set_class_counts(counts)`` method (the
    logit-adjusted / balanced-softmax losses, ``CrossEntropyLoss(
    class_weight='balanced')``) receives the counts ``(C,)`` of the labelled
    training data (pseudo-labels never count). Deterministic, so a resumed run
    gets the same counts; nothing is stored in the checkpoint.
    """
    model = runner.model.module if is_model_wrapper(runner.model) \
        else runner.model
    takers = [m for m in model.modules()
              if callable(getattr(m, 'set_class_counts', None))]
    if not takers:
        return
    datasets = list(labelled_feature_datasets(
        runner.train_dataloader.dataset))
    if not datasets:
        raise RuntimeError('found no labelled dataset in the training '
                           'loader to count classes on')
    classes = list(datasets[0].metainfo['classes'])
    labels = np.concatenate([d.labels() for d in datasets])
    labels = labels[labels >= 0]
    counts = np.bincount(labels, minlength=len(classes))
    empty = [c for c, n in zip(classes, counts) if n == 0]
    if empty:
        files = [getattr(d, 'ann_file', type(d).__name__) for d in datasets]
        raise ValueError(f'classes {empty} have no labelled training clip '
                         f'in {files}; class-count based losses cannot '
                         'weight them (drop them from the class list)')
    for module in takers:
        module.set_class_counts(counts.tolist())
    print_log('training class counts: '
              f'{dict(zip(classes, counts.tolist()))}', logger='current')


@HOOKS.register_module()
class ClassCountHook(Hook):
    """Hand the labelled training split's class counts to the losses.

    ``FeatureNormHook`` does the same before it fits the input statistics, so
    recipes with input standardisation need no extra hook; this one serves
    models without it (``normalize_inputs=False``) and stage 2, whose input
    statistics come from the stage-1 checkpoint. See
    :func:`feed_class_counts`.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        feed_class_counts(runner)
