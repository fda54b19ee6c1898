"""Bad-input cases: training settings and pseudo-labelling."""
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import torch

from bad_input_common import case, dataset_cfg, write_store
from mer_toolbox.datasets import SemiSupervisedDataset
from mer_toolbox.engine import load_checkpoint_file
from mer_toolbox.engine.hooks import PseudoLabelHook
from mer_toolbox.registry import HOOKS


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
        return SimpleNamespace(_resume=True, train_dataloader=SimpleNamespace(
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
    return lambda: resumed.after_load_checkpoint(
        second, load_checkpoint_file(str(tmp / 'epoch_1.pth')))


