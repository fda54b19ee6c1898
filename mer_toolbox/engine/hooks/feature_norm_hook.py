"""Fit per-modality input standardisation on the training split."""
from typing import Iterator

from mmengine.dataset import ConcatDataset, RepeatDataset
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ...registry import HOOKS


def labelled_feature_datasets(dataset) -> Iterator:
    """Yield the labelled feature datasets inside (possibly wrapped) ``dataset``."""
    if isinstance(dataset, ConcatDataset):
        for d in dataset.datasets:
            yield from labelled_feature_datasets(d)
    elif isinstance(dataset, RepeatDataset):
        yield from labelled_feature_datasets(dataset.dataset)
    elif hasattr(dataset, 'source_datasets'):
        for d in dataset.source_datasets():
            yield from labelled_feature_datasets(d)
    elif hasattr(dataset, 'feature_statistics') and \
            getattr(dataset, 'labelled', True):
        yield dataset


def check_num_classes(model, dataset) -> None:
    """The head's ``num_classes`` must equal the data's class list.

    Otherwise labels beyond the head index out of range mid-epoch (too few)
    or some logits are never trained (too many).
    """
    head = getattr(model, 'head', None)
    num_classes = getattr(head, 'num_classes', None)
    classes = list(getattr(dataset, 'classes', ()))
    if num_classes is None or not classes or num_classes == len(classes):
        return
    raise ValueError(
        f'the head {type(head).__name__} has num_classes={num_classes} but '
        f'the training data {dataset.ann_file} has {len(classes)} classes '
        f'{classes}; set model.head.num_classes={len(classes)} or change '
        "the dataset's metainfo.classes")


@HOOKS.register_module()
class FeatureNormHook(Hook):
    """Compute input mean / std per modality before training starts.

    Statistics come from the labelled training data only (first labelled
    feature dataset found in the train loader's dataset), are identical on
    every rank (a deterministic pass over the same files) and are stored as
    model buffers, so a resumed run or a test run reuses them and this hook
    does nothing when the model already carries fitted statistics.

    Being the first hook that sees both the model and the training data, it
    also checks that they agree: every model modality is served, and the
    head's ``num_classes`` equals the data's class list; and it hands the
    training class counts to class-aware losses (``ClassCountHook``'s job, so
    recipes with input standardisation need no second hook), on every run,
    resumed ones included.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        datasets = list(labelled_feature_datasets(
            runner.train_dataloader.dataset))
        if datasets:
            check_num_classes(model, datasets[0])
        if getattr(model, 'input_norms', None) is not None and \
                not model.input_norms_fitted:
            self.fit(model, datasets)
        # after the checks above, so a bad dataset fails with their message
        from .class_count_hook import feed_class_counts  # imports this module
        feed_class_counts(runner)

    @staticmethod
    def fit(model, datasets: list) -> None:
        """Fit the model's input statistics on the first labelled dataset."""
        if not datasets:
            raise RuntimeError('FeatureNormHook found no labelled feature '
                               'dataset in the training loader')
        dataset = datasets[0]
        served = list(getattr(dataset, 'modalities', model.modalities))
        absent = [m for m in model.modalities if m not in served]
        if absent:  # else a bare KeyError from the dataset's stores
            raise ValueError(
                f'the model uses modalities {absent} that the training data '
                f'{dataset.ann_file} does not provide (it serves {served}); '
                "add them to the dataset's data_prefix / modalities or "
                "remove them from the model's modalities")
        stats = {m: dataset.feature_statistics(m) for m in model.modalities}
        model.fit_input_norms(stats)
        print_log('FeatureNormHook: fitted input statistics on '
                  f'{len(dataset)} clips of {dataset.ann_file}',
                  logger='current')
