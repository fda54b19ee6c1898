"""Bulk reads of the feature stores: both layouts, any name order."""
import os.path as osp

import numpy as np
import pytest

from mer_toolbox.datasets.feature_reader import FeatureReader
from mer_toolbox.fileio.feature_store import (
    open_feature_store,
    pack_npy_store,
    save_npy_atomic,
)

NAMES = [f'c{i}' for i in range(6)]


@pytest.fixture()
def stores(tmp_path):
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    npy = str(tmp_path / 'npy')
    for name, row in zip(NAMES, x):
        save_npy_atomic(osp.join(npy, name + '.npy'), row)
    pack_npy_store(npy, str(tmp_path / 'packed'))
    return x, open_feature_store(npy), open_feature_store(
        str(tmp_path / 'packed'))


@pytest.mark.parametrize('order', [[1, 2, 3], [4, 0, 2], [5]])
def test_load_rows_equals_per_clip_reads(stores, order):
    x, npy, packed = stores
    names = [NAMES[i] for i in order]
    for store in (npy, packed):
        np.testing.assert_array_equal(store.load_rows(names), x[order])


def test_packed_frame_level_store_refuses_bulk_rows(tmp_path):
    src = str(tmp_path / 'fra')
    save_npy_atomic(osp.join(src, 'a.npy'), np.ones((2, 3), np.float32))
    pack_npy_store(src, str(tmp_path / 'packed'))
    with pytest.raises(ValueError, match='packed is frame level'):
        open_feature_store(str(tmp_path / 'packed')).load_rows(['a'])


def test_reader_checks_size_and_drops_open_stores_when_pickled(stores,
                                                               tmp_path):
    import pickle
    reader = FeatureReader(dict(video=str(tmp_path / 'packed')),
                           dims=dict(video=5))
    with pytest.raises(ValueError, match=r'expected \(N, 5\) utterance-level'
                       r' rows, got \(2, 4\)'):
        reader.load_rows('video', NAMES[:2])
    assert reader.stores() and pickle.loads(pickle.dumps(reader))._stores \
        is None
