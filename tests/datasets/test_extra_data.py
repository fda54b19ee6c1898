"""ExtraLabelledDataset: class counts of every strategy, determinism, errors,
and its use inside SemiSupervisedDataset / FeatureNormHook."""
import itertools
import os
import os.path as osp

import numpy as np
import pytest

from mer_toolbox.constants import MER2024_CLASSES
from mer_toolbox.datasets import SemiSupervisedDataset
from mer_toolbox.datasets.extra_data import largest_remainder, water_fill
from mer_toolbox.engine.hooks.feature_norm_hook import \
    labelled_feature_datasets
from mer_toolbox.registry import DATASETS

DIMS = dict(video=3, audio=2)


def write_split(root, prefix, counts, labelled=True, names=None):
    """A tiny MERTools-layout split with ``counts[c]`` clips of class ``c``.

    Clips are interleaved by class so that selections cannot rely on order.
    Returns a config dict for ``MERFeatureDataset``.
    """
    labels = [c for c, n in enumerate(counts) for _ in range(n)]
    labels = list(np.random.default_rng(len(labels)).permutation(labels))
    names = names or [f'{prefix}_{i:04d}' for i in range(len(labels))]
    rng = np.random.default_rng(1)
    for m, d in DIMS.items():
        os.makedirs(osp.join(root, m), exist_ok=True)
        for n in names:
            np.save(osp.join(root, m, f'{n}.npy'),
                    rng.normal(size=d).astype(np.float32))
    csv = f'{prefix}.csv'
    with open(osp.join(root, csv), 'w') as f:
        f.write('name,discrete\n' if labelled else 'name\n')
        for n, y in zip(names, labels):
            f.write(f'{n},{MER2024_CLASSES[y]}\n' if labelled else f'{n}\n')
    return dict(type='MERFeatureDataset', ann_file=csv, data_root=root,
                data_prefix={m: m for m in DIMS}, feature_dims=DIMS,
                labelled=labelled)


BASE = (6, 3, 1, 0, 0, 0)


@pytest.fixture(scope='module')
def splits(tmp_path_factory):
    """Built base (``BASE`` counts) and extra (10 per class) datasets."""
    root = str(tmp_path_factory.mktemp('extra'))
    return (DATASETS.build(write_split(root, 'base', BASE)),
            DATASETS.build(write_split(root, 'extra', (10,) * 6)))


def build(base, extra, **kwargs):
    return DATASETS.build(dict(type='ExtraLabelledDataset', base=base,
                               extra=extra, **kwargs))


def extra_counts(ds):
    return np.bincount(ds.labels()[len(ds.base):], minlength=6)


def test_items_are_base_then_chosen_extra(splits):
    ds = build(*splits, strategy='random', num_extra=7, seed=3)
    assert len(ds) == 10 + 7 and len(ds.selected_extra_indices) == 7
    assert ds.metainfo['classes'] == MER2024_CLASSES
    for i in range(10):
        assert ds[i]['data_samples'].name == ds.base.get_data_info(i)['name']
    for k, j in enumerate(ds.selected_extra_indices):
        name = ds.extra.get_data_info(int(j))['name']
        assert ds.get_data_info(10 + k)['name'] == name
        assert ds[10 + k]['data_samples'].name == name
        assert ds[10 + k]['data_samples'].label == ds.labels()[10 + k]
    assert ds[-1]['data_samples'].name == ds.get_data_info(16)['name']
    with pytest.raises(IndexError):
        ds[17]


def test_random_is_deterministic_under_seed(splits):
    a = build(*splits, strategy='random', num_extra=20, seed=5)
    b = build(*splits, strategy='random', num_extra=20, seed=5)
    c = build(*splits, strategy='random', num_extra=20, seed=6)
    np.testing.assert_array_equal(a.selected_extra_indices,
                                  b.selected_extra_indices)
    assert not np.array_equal(a.selected_extra_indices,
                              c.selected_extra_indices)
    assert len(set(a.selected_extra_indices.tolist())) == 20


@pytest.mark.parametrize('num_extra,expected', [
    (10, [6, 3, 1, 0, 0, 0]),
    # quotas 4.2 / 2.1 / 0.7: floors 4 / 2 / 0, the left unit to happy (.7)
    (7, [4, 2, 1, 0, 0, 0]),
    # quotas 3 / 1.5 / 0.5: equal remainders, the unit to the lower index
    (5, [3, 2, 0, 0, 0, 0]),
])
def test_matched_follows_the_base_ratio(splits, num_extra, expected):
    ds = build(*splits, strategy='matched', num_extra=num_extra, seed=0)
    assert extra_counts(ds).tolist() == expected


def test_matched_without_enough_clips_of_a_class_is_an_error(tmp_path):
    base = write_split(str(tmp_path), 'base', BASE)
    extra = write_split(str(tmp_path), 'extra', (2, 10, 10, 10, 10, 10))
    with pytest.raises(ValueError, match=r"'neutral': needs 6, has 2"):
        build(base, extra, strategy='matched', num_extra=10)


@pytest.mark.parametrize('extra,num_extra,expected', [
    # empty classes first, happy joins at 1, ...: totals 6,3,3,3,3,2
    ((10,) * 6, 10, [0, 0, 2, 3, 3, 2]),
    # all reach 6, the 4 left go to the lowest indices: 7,7,7,7,6,6
    ((10,) * 6, 30, [1, 4, 6, 7, 6, 6]),
    # surprise has 1 extra clip only; the others keep filling: 6,4,4,4,3,1
    ((10, 10, 10, 10, 10, 1), 12, [0, 1, 3, 4, 3, 1]),
])
def test_balanced_water_fills(tmp_path, extra, num_extra, expected):
    base = write_split(str(tmp_path), 'base', BASE)
    extra_cfg = write_split(str(tmp_path), 'extra', extra)
    ds = build(base, extra_cfg, strategy='balanced', num_extra=num_extra)
    assert extra_counts(ds).tolist() == expected


def brute_force_min_squares(base, available, total):
    """Smallest sum of squared combined counts over all allocations."""
    best = None
    for take in itertools.product(*(range(a + 1) for a in available)):
        if sum(take) == total:
            cost = sum((b + t) ** 2 for b, t in zip(base, take))
            best = cost if best is None else min(best, cost)
    return best


@pytest.mark.parametrize('seed', range(20))
def test_water_fill_is_as_equal_as_possible(seed):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 8, size=4)
    available = rng.integers(0, 5, size=4)
    total = int(rng.integers(0, available.sum() + 1))
    take = water_fill(base, available, total)
    assert take.sum() == total and (take <= available).all()
    assert ((base + take) ** 2).sum() == brute_force_min_squares(
        base, available, total)


def test_largest_remainder_sums_and_is_near_exact():
    rng = np.random.default_rng(0)
    for _ in range(50):
        counts = rng.integers(0, 50, size=6)
        counts[0] += 1
        total = int(rng.integers(0, 200))
        quota = largest_remainder(total, counts)
        exact = total * counts / counts.sum()
        assert quota.sum() == total and (np.abs(quota - exact) < 1).all()


def test_all_takes_every_extra_clip(splits):
    ds = build(*splits, strategy='all')
    assert len(ds) == 10 + 60
    assert extra_counts(ds).tolist() == [10] * 6


def test_balanced_and_matched_are_deterministic(splits):
    for strategy in ('balanced', 'matched'):
        a = build(*splits, strategy=strategy, num_extra=10, seed=1)
        b = build(*splits, strategy=strategy, num_extra=10, seed=1)
        np.testing.assert_array_equal(a.selected_extra_indices,
                                      b.selected_extra_indices)


# ------------------------------------------------------------- errors
@pytest.mark.parametrize('kwargs,match', [
    (dict(strategy='stratified', num_extra=3), 'unknown extra-data strategy'),
    (dict(strategy='random', num_extra=61), 'num_extra=61 but .* 60 clips'),
    (dict(strategy='random', num_extra=-1), 'num_extra=-1'),
    (dict(strategy='balanced'), 'needs num_extra'),
    (dict(strategy='all', num_extra=5), 'num_extra must be None'),
])
def test_bad_arguments(splits, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(*splits, **kwargs)


def test_different_classes_is_an_error(tmp_path):
    base = write_split(str(tmp_path), 'base', BASE)
    extra = write_split(str(tmp_path), 'extra', (3,) * 6)
    extra = dict(extra, metainfo=dict(classes=MER2024_CLASSES[::-1]))
    with pytest.raises(ValueError, match='different classes'):
        build(base, extra, strategy='all')


def test_shared_clip_names_are_an_error(tmp_path):
    base = write_split(str(tmp_path), 'base', BASE)
    names = [f'base_{i:04d}' for i in (2, 4)] + \
        [f'x_{i}' for i in range(4)]
    extra = write_split(str(tmp_path), 'extra', (6,), names=names)
    with pytest.raises(ValueError, match=r"2 clip\(s\).*base_0002"):
        build(base, extra, strategy='all')


def test_unlabelled_extra_is_an_error(tmp_path):
    base = write_split(str(tmp_path), 'base', BASE)
    extra = write_split(str(tmp_path), 'extra', (4,), labelled=False)
    with pytest.raises(ValueError, match='extra dataset has 4 unlabelled'):
        build(base, extra, strategy='all')


# ------------------------------------------------------- semi-supervised
def test_works_as_the_labelled_part_of_semi_supervised(tmp_path):
    root = str(tmp_path)
    base = write_split(root, 'base', BASE)
    extra = write_split(root, 'extra', (10,) * 6)
    pool = write_split(root, 'pool', (8,), labelled=False)
    labelled = dict(type='ExtraLabelledDataset', base=base, extra=extra,
                    strategy='balanced', num_extra=12)
    ds = SemiSupervisedDataset(labelled, pool)
    assert len(ds) == 10 + 12 + 8
    assert ds.metainfo['classes'] == MER2024_CLASSES
    names = ds.labelled_names()
    assert len(set(names)) == 22 and names[:10] == [
        f'base_{i:04d}' for i in range(10)]
    assert ds[21]['data_samples'].label >= 0
    assert ds[22]['data_samples'].label == -1
    # FeatureNormHook fits statistics on the first one found: the base set
    found = list(labelled_feature_datasets(ds))
    assert found[0] is ds.labelled.base and len(found) == 2
