"""The MER2024 configs need no label-val.csv: a plain run trains without
validation, a cross-validation member validates on its held-out fold."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from mer_test_utils import REPO
from mer_toolbox.constants import MER2024_CLASSES
from mer_toolbox.fileio.label_file import write_label_csv
from mer_toolbox.experiments import CrossValidation
from mer_toolbox.engine.setup_env import register_all_modules

pytestmark = pytest.mark.slow

DIMS = {'clip-vit-large-patch14-UTT': 768, 'chinese-hubert-large-UTT': 1024,
        'bloom-7b1-UTT': 4096}


@pytest.fixture(scope='module')
def mer2024_root(tmp_path_factory):
    """label-train.csv + label-test.csv + three feature folders, no val."""
    root = tmp_path_factory.mktemp('mer2024')
    rng = np.random.default_rng(0)
    for split, n in (('train', 36), ('test', 12)):
        rows = [(f'sample_{split}_{i:03d}', MER2024_CLASSES[i % 6]) for i in range(n)]
        write_label_csv(str(root / f'label-{split}.csv'), rows)
        for folder, dim in DIMS.items():
            (root / folder).mkdir(exist_ok=True)
            for name, _ in rows:
                np.save(root / folder / f'{name}.npy', rng.normal(size=dim).astype(np.float32))
    return str(root)


def _config(root, monkeypatch):
    monkeypatch.setenv('MER2024_ROOT', root)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'mer2024',
                                   'bdcl_stage1_mer2024_labelled.py'))
    cfg.merge_from_dict({'train_cfg.max_epochs': 1, 'train_dataloader.batch_size': 12,
                         'train_dataloader.num_workers': 0,
                         'test_dataloader.num_workers': 0})
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    return cfg


def _train(cfg, work_dir):
    from mmengine.runner import Runner
    register_all_modules()
    cfg.work_dir = work_dir
    cfg.experiment_name = osp.basename(work_dir)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def test_plain_run_trains_without_a_val_split(mer2024_root, monkeypatch, tmp_path):
    runner = _train(_config(mer2024_root, monkeypatch), str(tmp_path / 'plain'))
    assert runner.val_loop is None
    assert osp.isfile(tmp_path / 'plain' / 'epoch_1.pth')


def test_cv_member_validates_on_its_held_out_fold(mer2024_root, monkeypatch, tmp_path):
    cv = CrossValidation(_config(mer2024_root, monkeypatch), str(tmp_path / 'cv'), folds=3)
    cv.prepare()
    assert cv.scored_splits() == ['test']
    member_cfg = Config.fromfile(cv.config_path(cv.members[0]))
    assert member_cfg.val_dataloader.dataset.subset_file.endswith('fold_0_held_out.csv')
    assert member_cfg.val_evaluator.print_table is False
    runner = _train(member_cfg, str(tmp_path / 'cv' / 'fold_0'))
    assert len(runner.val_loop.dataloader.dataset) == 12  # a third of 36
    # validated on the fold (the default recipe keeps its final model)
    assert runner.message_hub.get_scalar('val/emotion/waf') is not None
