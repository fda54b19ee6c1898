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


@HOOKS.register_module()
class FeatureNormHook(Hook):
    """Compute input mean / std per modality before training starts.

    Statistics come from the labelled training data only (first labelled
    feature dataset found in the train loader's dataset), are identical on
    every rank (a deterministic pass over the same files) and are stored as
    model buffers, so a resumed run or a test run reuses them and this hook
    does nothing when the model already carries fitted statistics.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        if getattr(model, 'input_norms', None) is None or \
                model.input_norms_fitted:
            return
        datasets = list(labelled_feature_datasets(
            runner.train_dataloader.dataset))
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
