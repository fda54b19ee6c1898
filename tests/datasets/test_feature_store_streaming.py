"""write_packed_store_streaming (same files as write_packed_store, bad input)
and the bulk read path over packed stores (load_rows, score_dataset)."""
import os
import os.path as osp

import numpy as np
import pytest

from mer_toolbox.fileio.feature_store import (
    PackedFeatureStore,
    write_packed_store,
    write_packed_store_streaming,
)

NAMES = [f'clip_{i:03d}' for i in range(10)]


def rows(n=10, dim=5, seed=0):
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(
        np.float32)


def chunked(x, size):
    return (x[i:i + size] for i in range(0, len(x), size))


def test_same_files_as_write_packed_store(tmp_path):
    x = rows()
    ref, new = str(tmp_path / 'ref'), str(tmp_path / 'new')
    write_packed_store(ref, zip(NAMES, x))
    assert write_packed_store_streaming(new, NAMES, 5, chunked(x, 3)) == 10
    for f in ('data.npy', 'names.txt', 'packed.json'):
        with open(osp.join(ref, f), 'rb') as a, open(osp.join(new, f),
                                                      'rb') as b:
            assert a.read() == b.read(), f
    store = PackedFeatureStore(new)
    np.testing.assert_array_equal(store.load('clip_007'), x[7])
    assert store.names() == NAMES and not store.frame_level


def test_replaces_an_existing_store(tmp_path):
    folder = str(tmp_path / 's')
    write_packed_store_streaming(folder, NAMES, 5, [rows(seed=1)])
    write_packed_store_streaming(folder, NAMES[:4], 5, [rows(4, seed=2)])
    store = PackedFeatureStore(folder)
    assert len(store) == 4
    np.testing.assert_array_equal(store.data, rows(4, seed=2))
    assert os.listdir(tmp_path) == ['s']


@pytest.mark.parametrize('names,chunks,match', [
    ([], [], 'empty packed store'),
    (['a', 'b', 'a'], [rows(3)], 'duplicate clip names'),
    (NAMES, [rows(10, dim=4)], r'expected \(n, 5\) chunks'),
    (NAMES, [rows(6), rows(5)], 'more rows than the 10 names'),
    (NAMES, [rows(4), rows(5)], '9 rows for 10 names'),
])
def test_bad_input(tmp_path, names, chunks, match):
    with pytest.raises(ValueError, match=match):
        write_packed_store_streaming(str(tmp_path / 's'), names, 5, chunks)
    assert os.listdir(tmp_path) == []  # nothing half-written left behind


def test_nan_names_the_clip_and_keeps_the_old_store(tmp_path):
    folder = str(tmp_path / 's')
    write_packed_store_streaming(folder, NAMES, 5, [rows()])
    bad = rows()
    bad[6, 2] = np.nan
    with pytest.raises(ValueError, match="NaN/Inf.*'clip_006'"):
        write_packed_store_streaming(folder, NAMES, 5, chunked(bad, 4))
    np.testing.assert_array_equal(PackedFeatureStore(folder).data, rows())
    assert os.listdir(tmp_path) == ['s']


# --------------------------------------- the bulk path over a packed store
def packed_pool(tmp_path, x, names=NAMES):
    """An unlabelled MERFeatureDataset over one packed modality ``x``."""
    from mer_toolbox.datasets import MERFeatureDataset
    root = str(tmp_path)
    write_packed_store_streaming(osp.join(root, 'video'), names, x.shape[1],
                                 [x])
    with open(osp.join(root, 'pool.csv'), 'w') as f:
        f.write('name\n' + '\n'.join(names[::-1]) + '\n')  # reversed rows
    return MERFeatureDataset(ann_file='pool.csv', data_root=root,
                             data_prefix=dict(video='video'), labelled=False,
                             feature_dims=dict(video=x.shape[1]))


def test_load_rows_matches_items(tmp_path):
    x = rows()
    pool = packed_pool(tmp_path, x)
    block = pool.load_rows(2, 7)['video']  # (5, 5)
    expected = np.stack([pool[i]['inputs']['video'].numpy()
                         for i in range(2, 7)])
    np.testing.assert_array_equal(block, expected)
    np.testing.assert_array_equal(block, x[::-1][2:7])


def test_load_rows_names_the_nan_clip_but_passes_huge_values(tmp_path):
    x = rows()
    x[3] = 3e38  # finite, but its row sum overflows to inf
    pool = packed_pool(tmp_path, x)
    data = np.load(osp.join(tmp_path, 'video', 'data.npy'), mmap_mode='r+')
    data[8, 1] = np.inf  # corrupted after writing (the writer refuses it)
    data.flush()
    np.testing.assert_array_equal(pool.load_rows(5, 7)['video'][1], x[3])
    with pytest.raises(ValueError, match=r'video/clip_008: NaN/Inf'):
        pool.load_rows(0, 4)


def test_load_rows_follows_a_subset(tmp_path):
    pool = packed_pool(tmp_path, rows())
    pool.load_rows(0, 2)  # fills the name cache
    pool.get_subset_([9, 8])  # names clip_000, clip_001 in that order
    np.testing.assert_array_equal(pool.load_rows(0, 2)['video'], rows()[:2])


def test_score_dataset_bulk_path_equals_item_path(tmp_path):
    from mer_toolbox.engine.hooks.pool_scoring import score_dataset
    from mer_toolbox.registry import MODELS
    pool = packed_pool(tmp_path, rows())
    model = MODELS.build(dict(
        type='MultimodalEmotionClassifier', modalities=['video'],
        feature_dims=dict(video=5),
        encoders=dict(type='MLPFeatureProjector', hidden_dim=8),
        neck=dict(type='AttentionFusionNeck'),
        head=dict(type='LinearClsHead', num_classes=6)))
    model.fit_input_norms(dict(video=(np.zeros(5), np.ones(5))))
    model.train()
    fast = score_dataset(model, pool, batch_size=4)  # (10, 6)
    assert model.training  # mode restored
    slow = score_dataset(model, _ItemsOnly(pool), batch_size=3, start=2)
    assert fast.shape == (10, 6) and slow.shape == (8, 6)
    np.testing.assert_allclose(slow, fast[2:], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fast.sum(1), 1, rtol=1e-5)


class _ItemsOnly:
    """A dataset view without ``load_rows`` (forces the per-item path)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, idx):
        return self.dataset[idx]
