"""Folds: stratified, disjoint, covering, grouped; the plan pins a work dir;
subset_file selects a fold's clips."""
import json

import numpy as np
import pytest
from mmengine.config import Config

from mer_test_utils import TINY_SIZES
from mer_toolbox.fileio.label_file import write_label_csv
from mer_toolbox.experiments import CrossValidation, labelled_train_dataset, make_folds
from mer_toolbox.experiments.folds import check_or_write_plan, read_group_column
from mer_toolbox.registry import DATASETS


def _labels(seed=0, n=300):
    rng = np.random.default_rng(seed)
    return rng.choice(6, size=n, p=[.3, .25, .2, .12, .08, .05])


def test_folds_are_stratified_disjoint_and_cover_the_split():
    labels = _labels()
    folds = make_folds(labels, 5, seed=3)
    flat = np.concatenate(folds)
    assert len(flat) == len(set(flat.tolist())) == len(labels)  # disjoint
    assert set(flat.tolist()) == set(range(len(labels)))        # cover
    for c in range(6):  # each class is split as evenly as it can be
        per_fold = [int((labels[f] == c).sum()) for f in folds]
        assert max(per_fold) - min(per_fold) <= 1, (c, per_fold)
    # seeded: the same seed gives the same folds, another seed others
    again = make_folds(labels, 5, seed=3)
    assert all((a == b).all() for a, b in zip(folds, again))
    other = make_folds(labels, 5, seed=4)
    assert any(len(a) != len(b) or (a != b).any() for a, b in zip(folds, other))


def test_groups_never_straddle_folds():
    labels = _labels(1, 400)
    groups = [f'spk{i % 23}' for i in range(len(labels))]
    folds = make_folds(labels, 4, seed=0, groups=groups)
    owner = {}
    for k, fold in enumerate(folds):
        for i in fold:
            assert owner.setdefault(groups[i], k) == k
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(labels)))


def test_bad_fold_requests_fail_clearly():
    labels = np.array([0] * 10 + [1] * 3)
    with pytest.raises(ValueError, match=r"larger than the smallest class \('sad' has 3"):
        make_folds(labels, 4, class_names=['happy', 'sad'])
    with pytest.raises(ValueError, match='2 group'):
        make_folds(labels, 3, groups=['a'] * 6 + ['b'] * 7)


def test_group_column_must_exist(tmp_path):
    path = str(tmp_path / 'label-train.csv')
    write_label_csv(path, [('a', 'happy'), ('b', 'sad')])
    with pytest.raises(ValueError, match=r"--group-by 'speaker'.*no such column"):
        read_group_column(path, 'speaker')


def test_plan_of_another_k_or_seed_is_refused_and_kept(tmp_path):
    plan = dict(folds=5, split_seed=0, group_by=None, config='abc',
                folds_held_out=[['a'], ['b']])
    check_or_write_plan(str(tmp_path), plan)
    before = (tmp_path / 'cv_plan.json').read_text()
    for change in (dict(folds=3), dict(split_seed=1), dict(config='xyz')):
        with pytest.raises(ValueError, match='nothing was overwritten'):
            check_or_write_plan(str(tmp_path), dict(plan, **change))
    assert (tmp_path / 'cv_plan.json').read_text() == before
    assert check_or_write_plan(str(tmp_path), dict(plan)) == json.loads(before)


def _demo(root, **kw):
    return dict(type='DemoMERDataset', data_root=root, sizes=TINY_SIZES, **kw)


def test_subset_file_keeps_named_clips_in_order(tiny_demo_root, tmp_path):
    full = DATASETS.build(_demo(tiny_demo_root, split='train'))
    names = full.clip_names()
    keep = [names[7], names[2], names[40]]
    subset = str(tmp_path / 'subset.csv')
    write_label_csv(subset, [(n, None) for n in keep])
    part = DATASETS.build(_demo(tiny_demo_root, split='train', subset_file=subset))
    assert part.clip_names() == [names[2], names[7], names[40]]  # ann order
    assert part.labels().tolist() == full.labels()[[2, 7, 40]].tolist()
    write_label_csv(subset, [('not_a_clip', None)])
    with pytest.raises(ValueError, match=r"subset.csv: 1 clip\(s\) are not in .*label-train.csv"):
        DATASETS.build(_demo(tiny_demo_root, split='train', subset_file=subset))


def _cv_config(root):
    demo = _demo(root, split='train')
    return Config(dict(
        train_dataloader=dict(dataset=dict(
            type='SemiSupervisedDataset', labelled=demo,
            unlabelled=_demo(root, split='pool'))),
        val_dataloader=dict(dataset=_demo(root, split='val')),
        test_dataloader=dict(dataset=_demo(root, split='test')),
        randomness=dict(seed=0)))


def test_member_configs_train_on_the_other_folds_and_validate_on_theirs(
        tiny_demo_root, tmp_path):
    cfg = _cv_config(tiny_demo_root)
    cv = CrossValidation(cfg, str(tmp_path / 'cv'), folds=3, seeds=[0, 1])
    cv.prepare()
    assert [m.name for m in cv.members][:3] == ['fold_0_seed_0', 'fold_0_seed_1', 'fold_1_seed_0']
    train_names = set(DATASETS.build(_demo(tiny_demo_root, split='train')).clip_names())
    held = []
    for member in cv.select(seed=1):
        member_cfg = Config.fromfile(cv.config_path(member))
        assert member_cfg.randomness.seed == 1
        fit = DATASETS.build(labelled_train_dataset(member_cfg))
        val = DATASETS.build(member_cfg.val_dataloader.dataset)
        assert not set(fit.clip_names()) & set(val.clip_names())
        assert set(fit.clip_names()) | set(val.clip_names()) == train_names
        held += val.clip_names()
    assert sorted(held) == sorted(train_names)
    with pytest.raises(ValueError, match='names no member'):
        cv.select(fold=7)
    # the plan refuses another K in the same work dir
    with pytest.raises(ValueError, match='different --folds'):
        CrossValidation(cfg, str(tmp_path / 'cv'), folds=4).prepare()


def test_train_dataset_is_found_through_wrappers_not_flags():
    plain = dict(type='MERFeatureDataset', ann_file='label-train.csv', labelled=True)
    for dataset in (plain, dict(type='SemiSupervisedDataset', labelled=plain),
                    dict(type='ExtraLabelledDataset', base=plain)):
        cfg = Config(dict(train_dataloader=dict(dataset=dataset)))
        assert labelled_train_dataset(cfg).ann_file == 'label-train.csv'


def test_train_dataset_must_read_a_label_csv():
    cfg = Config(dict(train_dataloader=dict(dataset=dict(type='ConcatDataset'))))
    with pytest.raises(TypeError, match='reads a label CSV'):
        labelled_train_dataset(cfg)
