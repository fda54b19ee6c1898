"""Bad-input cases: training settings and pseudo-labelling."""
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Tuple

import numpy as np
import torch

from bad_input_common import (BASE_CONFIG, case, dataset_cfg, model_cfg,
                              read_all, write_store)
from mer_toolbox.datasets import SemiSupervisedDataset
from mer_toolbox.engine import load_checkpoint_file
from mer_toolbox.engine.hooks import FeatureNormHook, PseudoLabelHook
from mer_toolbox.registry import DATASETS, HOOKS, MODELS
from mer_toolbox.engine.setup_env import load_config


# ------------------------------------------------------- training settings
def option_case(id: str, options: dict, says: Tuple[str, ...]) -> None:
    """``--cfg-options`` a user could type, checked by ``load_config``."""
    def make(tmp: Path, shared: Any) -> Callable:
        return lambda: load_config(BASE_CONFIG, options)
    case(id, ValueError, ('ce_bdcl.py',) + says)(make)


option_case('config-max-epochs-zero', {'train_cfg.max_epochs': 0},
            ('train_cfg.max_epochs must be a positive integer', 'got 0'))
option_case('config-max-epochs-string', {'train_cfg.max_epochs': '5'},
            ('train_cfg.max_epochs', "got '5' (str)"))
option_case('config-batch-size-string', {'train_dataloader.batch_size': '16'},
            ('train_dataloader.batch_size must be a positive integer',
             "got '16' (str)"))


@case('config-duplicate-class-names', ValueError,
      says=('labels.csv', "metainfo.classes names ['happy'] more than once",
            'expected each class once'))
def _(tmp: Path, shared: Any) -> Callable:
    return read_all(write_store(tmp), metainfo=dict(
        classes=('neutral', 'angry', 'happy', 'sad', 'happy', 'surprise')))


@case('config-duplicate-model-modalities', ValueError,
      says=("model.modalities names ['video'] more than once",
            'expected each modality once'))
def _(tmp: Path, shared: Any) -> Callable:
    return lambda: MODELS.build(model_cfg(('video', 'audio', 'video')))


def norm_hook_call(tmp: Path, model_dict: dict) -> Callable:
    """``FeatureNormHook.before_train``: the first thing training runs."""
    model = MODELS.build(model_dict)
    dataset = DATASETS.build(dataset_cfg(tmp))
    runner = SimpleNamespace(model=model, train_dataloader=SimpleNamespace(
        dataset=dataset))
    return lambda: FeatureNormHook().before_train(runner)


@case('config-num-classes-mismatch', ValueError,
      says=('head LinearClsHead has num_classes=5', 'labels.csv',
            'has 6 classes', 'model.head.num_classes=6'))
def _(tmp: Path, shared: Any) -> Callable:
    cfg = model_cfg()
    cfg['head']['num_classes'] = 5
    return norm_hook_call(write_store(tmp), cfg)


@case('features-nan-in-any-training-clip', ValueError,
      says=('video-UTT/clip_d', '1 NaN/Inf value(s)'))
def _(tmp: Path, shared: Any) -> Callable:
    root = write_store(tmp)
    call = norm_hook_call(root, model_cfg())  # built on clean data
    bad = np.ones(4, np.float32)
    bad[2] = np.nan
    np.save(root / 'video-UTT' / 'clip_d.npy', bad)  # the last clip
    return call


# --------------------------------------------------------- pseudo-labelling
@case('pseudo-threshold-above-1', ValueError,
      says=('threshold must be in (0, 1]', 'got 1.5'))
def _(tmp: Path, shared: Any) -> Callable:
    return lambda: HOOKS.build(dict(type='PseudoLabelHook', threshold=1.5))


@case('pseudo-threshold-zero', ValueError,
      says=('threshold must be in (0, 1]', 'got 0'))
def _(tmp: Path, shared: Any) -> Callable:
    return lambda: HOOKS.build(dict(type='PseudoLabelHook', threshold=0.0))


def semi(root: Path, pool_file: str = 'pool.csv') -> Callable[[], Any]:
    return lambda: SemiSupervisedDataset(
        dataset_cfg(root), dataset_cfg(root, ann_file=pool_file,
                                       labelled=False))


@case('pseudo-empty-pool', ValueError,
      says=('pool.csv', 'no clips listed (header only)'))
def _(tmp: Path, shared: Any) -> Callable:
    root = write_store(tmp)
    (root / 'pool.csv').write_text('name\n')
    return semi(root)


@case('pseudo-pool-overlaps-labelled', ValueError,
      says=("1 pool clip(s) are also labelled", "['clip_b']",
            "overlap='drop'"))
def _(tmp: Path, shared: Any) -> Callable:
    root = write_store(tmp)
    (root / 'pool.csv').write_text('name\npool_0\nclip_b\npool_1\n')
    return semi(root)


def table_untouched(tmp: Path, shared: Any, result: Any) -> None:
    table = shared.table
    assert table.rounds == 0 and (table.labels == -1).all()
    saved = load_checkpoint_file(str(tmp / 'epoch_1.pth'))['pseudo_labels']
    assert saved['rounds'] == 1 and (saved['labels'] >= 0).all()


@case('pseudo-resume-with-changed-pool', ValueError,
      says=('unlabelled pool changed', 'checkpoint: 4 clips', 'now: 3 clips',
            'resume with the original pool'), kept=table_untouched)
def _(tmp: Path, shared: Any) -> Callable:
    root = write_store(tmp)

    def runner(pool_file: str) -> SimpleNamespace:
        dataset = semi(root, pool_file)()
        # iter > 0 at before_train: MMEngine resumed the loop's counters
        return SimpleNamespace(iter=40, train_dataloader=SimpleNamespace(
            dataset=dataset))

    first, hook = runner('pool.csv'), PseudoLabelHook(cold_start=1)
    hook.before_run(first)
    hook.dataset.table.update(np.arange(4) % 6, np.ones(4), np.ones(4))
    checkpoint = {}
    hook.before_save_checkpoint(first, checkpoint)
    torch.save(checkpoint, tmp / 'epoch_1.pth')
    (root / 'pool3.csv').write_text('name\npool_0\npool_1\npool_3\n')
    second, resumed = runner('pool3.csv'), PseudoLabelHook(cold_start=1)
    resumed.before_run(second)
    shared.table = resumed.dataset.table
    resumed.after_load_checkpoint(
        second, load_checkpoint_file(str(tmp / 'epoch_1.pth')))
    return lambda: resumed.before_train(second)


