"""Cross-validation with the val split pooled into the labelled clips
(``tools/cross_validate.py --include-val``): the pooled list, the folds over
it, the refit without validation, and what it refuses."""
import copy
import csv
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

from mer_test_utils import run_tool, write_tiny_config
from mer_toolbox.engine.setup_env import register_all_modules
from mer_toolbox.experiments import CrossValidation
from mer_toolbox.fileio.label_file import concat_label_csvs


def _names(path):
    with open(path, newline='') as f:
        return [row['name'] for row in csv.DictReader(f)]


@pytest.fixture()
def cfg(tmp_path, tiny_demo_root):
    register_all_modules()
    # the default recipe without the pool (a plain labelled train split)
    path = write_tiny_config(str(tmp_path / 'cfg.py'), tiny_demo_root,
                             base='ablations/ce_only.py')
    return Config.fromfile(path)


def test_folds_cover_train_and_val_once_and_val_is_not_scored(cfg, tmp_path,
                                                              tiny_demo_root):
    cv = CrossValidation(cfg, str(tmp_path / 'w'), folds=3, include_val=True)
    cv.prepare()
    train = _names(osp.join(tiny_demo_root, 'label-train.csv'))
    val = _names(osp.join(tiny_demo_root, 'label-val.csv'))
    pooled = osp.join(cv.work_dir, 'folds', 'labelled.csv')
    assert _names(pooled) == train + val
    with open(osp.join(cv.work_dir, 'cv_plan.json')) as f:
        plan = json.load(f)
    held = [n for fold in plan['folds_held_out'] for n in fold]
    assert sorted(held) == sorted(train + val) and plan['include_val']
    member = cv.member_config(cv.members[0])
    assert member.train_dataloader.dataset.ann_file == pooled
    assert member.val_dataloader.dataset.ann_file == pooled  # its held-out fold
    assert member.val_dataloader.dataset.subset_file.endswith(
        'fold_0_held_out.csv')
    assert cv.scored_splits() == ['test']
    assert not [f for f in os.listdir(osp.dirname(pooled))
                if f.endswith('.pending')]


def test_a_work_dir_of_the_other_kind_is_refused_and_left_alone(cfg, tmp_path):
    work = str(tmp_path / 'w')
    CrossValidation(cfg, work, folds=2).prepare()
    before = sorted(os.listdir(osp.join(work, 'folds')))
    with pytest.raises(ValueError, match='--include-val'):
        CrossValidation(cfg, work, folds=2, include_val=True).prepare()
    assert sorted(os.listdir(osp.join(work, 'folds'))) == before


def test_one_fold_is_a_refit_without_validation(cfg, tmp_path):
    cv = CrossValidation(cfg, str(tmp_path / 'w'), folds=1, seeds=[0, 1],
                         include_val=True)
    cv.prepare()
    member = Config.fromfile(cv.config_path(cv.members[1]))
    assert member.val_dataloader is None and member.val_cfg is None
    assert member.train_dataloader.dataset.ann_file.endswith('labelled.csv')
    assert not member.train_dataloader.dataset.get('subset_file')
    assert member.randomness.seed == 1


def test_refuses_a_refit_that_keeps_a_best_checkpoint_or_no_val_split(
        cfg, tmp_path):
    best = copy.deepcopy(cfg)
    best.default_hooks.checkpoint.save_best = 'emotion/waf'
    with pytest.raises(ValueError, match='nothing to validate on.*save_best'):
        CrossValidation(best, str(tmp_path / 'a'), folds=1,
                        include_val=True).prepare()
    no_val = copy.deepcopy(cfg)
    no_val.val_dataloader = None
    with pytest.raises(ValueError, match='has no val_dataloader'):
        CrossValidation(no_val, str(tmp_path / 'b'), folds=2, include_val=True)


def test_concat_label_csvs_keeps_columns_and_refuses_clashes(tmp_path):
    a, b, out = (str(tmp_path / n) for n in ('a.csv', 'b.csv', 'out.csv'))
    with open(a, 'w') as f:
        f.write('name,discrete,actor\nx,happy,1\ny,sad,2\n')
    with open(b, 'w') as f:
        f.write('name,discrete,actor\nz,sad,3\n')
    concat_label_csvs([a, b], out)
    with open(out) as f:
        assert f.read().splitlines() == ['name,discrete,actor', 'x,happy,1',
                                         'y,sad,2', 'z,sad,3']
    with open(b, 'w') as f:
        f.write('name,discrete\nz,sad\n')
    with pytest.raises(ValueError, match=r"b.csv: columns \['name', "
                       r"'discrete'\] differ"):
        concat_label_csvs([a, b], out)
    with open(b, 'w') as f:
        f.write('name,discrete,actor\ny,sad,2\n')
    with pytest.raises(ValueError, match="clip 'y' is in both"):
        concat_label_csvs([a, b], out)


@pytest.mark.slow
def test_tool_refit_trains_on_train_and_val_and_scores_test_only(
        tmp_path, tiny_demo_root):
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), tiny_demo_root,
                            base='ablations/ce_only.py')
    work = str(tmp_path / 'w')
    proc = run_tool(['tools/cross_validate.py', cfg, '--folds', '1',
                     '--include-val', '--work-dir', work])
    log = proc.stdout + proc.stderr
    assert osp.isfile(osp.join(work, 'predictions_test.csv'))
    assert not osp.exists(osp.join(work, 'predictions_val.csv'))
    with open(osp.join(work, 'fold_0', 'scores', 'test.json')) as f:
        assert len(json.load(f)['names']) == 90
    with open(osp.join(work, 'cv_metrics.json')) as f:
        member = json.load(f)['members']['fold_0']
    # the result is the final epoch; nothing was validated
    assert member['epoch'] == 2 and member['held_out'] is None
    member_log = ''.join(
        open(osp.join(dirpath, f)).read()
        for dirpath, _, files in os.walk(osp.join(work, 'fold_0'))
        for f in files if f.endswith('.log'))
    assert 'fitted input statistics on 300 clips' in member_log  # 240 + 60
    assert 'Epoch(val)' not in member_log, log[-2000:]
