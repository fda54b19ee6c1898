"""MERFeatureDataset: both layouts, the demo data, and every bad input."""
import os
import os.path as osp

import numpy as np
import pytest
import torch

from mer_toolbox.datasets import DemoMERDataset, ensure_demo_data
from mer_toolbox.fileio.feature_store import pack_npy_store
from mer_toolbox.datasets.demo import DEMO_FEATURE_DIMS, DEMO_FEATURE_SETS
from mer_toolbox.registry import DATASETS

DIMS = dict(video=4, audio=3)


def make_store(root, names, labels=None, dims=DIMS, frame_level=()):
    """Write a tiny MERTools-layout dataset; returns its root."""
    rng = np.random.default_rng(0)
    for m, d in dims.items():
        os.makedirs(osp.join(root, f'{m}-UTT'), exist_ok=True)
        for n in names:
            shape = (rng.integers(2, 5), d) if m in frame_level else (d,)
            np.save(osp.join(root, f'{m}-UTT', f'{n}.npy'),
                    rng.normal(size=shape).astype(np.float32))
    with open(osp.join(root, 'labels.csv'), 'w') as f:
        f.write('name,discrete\n' if labels else 'name\n')
        for i, n in enumerate(names):
            f.write(f'{n},{labels[i]}\n' if labels else f'{n}\n')
    return root


def build(root, **kwargs):
    cfg = dict(type='MERFeatureDataset', ann_file='labels.csv',
               data_root=root,
               data_prefix={m: f'{m}-UTT' for m in DIMS}, feature_dims=DIMS)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


NAMES = ['clip_a', 'clip_b', 'clip_c']
LABELS = ['happy', 'Neutral', 'surprise']


def test_npy_layout_items_follow_the_contract(tmp_path):
    ds = build(make_store(str(tmp_path), NAMES, LABELS))
    assert len(ds) == 3 and ds.metainfo['classes'][0] == 'neutral'
    item = ds[1]
    assert set(item['inputs']) == {'video', 'audio'}
    assert item['inputs']['video'].shape == (4,)
    sample = item['data_samples']
    assert sample.name == 'clip_b' and sample.label == 0
    assert sample.weight == 1.0 and sample.present('audio')
    expected = np.load(osp.join(tmp_path, 'audio-UTT', 'clip_b.npy'))
    assert torch.equal(item['inputs']['audio'], torch.from_numpy(expected))


def test_packed_layout_reads_the_same_values(tmp_path):
    root = make_store(str(tmp_path), NAMES, LABELS, frame_level=('video',))
    for m in DIMS:
        pack_npy_store(osp.join(root, f'{m}-UTT'), osp.join(root, f'{m}-PK'))
    npy = build(root)
    packed = build(root, data_prefix={m: f'{m}-PK' for m in DIMS})
    for i in range(3):
        for m in DIMS:
            assert torch.equal(npy[i]['inputs'][m], packed[i]['inputs'][m])
    assert packed[0]['inputs']['video'].dim() == 2  # frame level kept


def test_unlabelled_pool_has_label_minus_one(tmp_path):
    ds = build(make_store(str(tmp_path), NAMES), labelled=False)
    assert [ds[i]['data_samples'].label for i in range(3)] == [-1, -1, -1]


def test_feature_statistics_match_numpy(tmp_path):
    root = make_store(str(tmp_path), NAMES, LABELS)
    mean, std = build(root).feature_statistics('audio')
    x = np.stack([np.load(osp.join(root, 'audio-UTT', f'{n}.npy'))
                  for n in NAMES])
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(std, x.std(0), rtol=1e-4)


# ------------------------------------------------------------ bad input
def test_missing_feature_file_names_clip_and_folder(tmp_path):
    root = make_store(str(tmp_path), NAMES, LABELS)
    os.remove(osp.join(root, 'audio-UTT', 'clip_b.npy'))
    with pytest.raises(FileNotFoundError, match=r"clip_b.*|audio-UTT"):
        build(root)


def test_missing_modality_can_be_masked_and_counted(tmp_path, capsys):
    root = make_store(str(tmp_path), NAMES, LABELS)
    os.remove(osp.join(root, 'audio-UTT', 'clip_b.npy'))
    ds = build(root, missing_modality='mask')
    sample = ds[1]['data_samples']
    assert not sample.present('audio') and sample.present('video')
    assert torch.count_nonzero(ds[1]['inputs']['audio']) == 0


def test_wrong_dimension(tmp_path):
    root = make_store(str(tmp_path), NAMES, LABELS)
    with pytest.raises(ValueError, match=r'expected feature dimension 5.*got 3'):
        build(root, feature_dims=dict(video=4, audio=5))


def test_wrong_dimension_of_a_later_clip_is_caught_when_read(tmp_path):
    root = make_store(str(tmp_path), NAMES, LABELS)
    np.save(osp.join(root, 'audio-UTT', 'clip_c.npy'), np.zeros(7, np.float32))
    ds = build(root)
    with pytest.raises(ValueError, match=r'clip_c.*dimension 3'):
        ds[2]


@pytest.mark.parametrize('bad', [np.nan, np.inf])
def test_nan_or_inf_features(tmp_path, bad):
    root = make_store(str(tmp_path), NAMES, LABELS)
    x = np.zeros(4, np.float32)
    x[1] = bad
    np.save(osp.join(root, 'video-UTT', 'clip_c.npy'), x)
    ds = build(root)
    with pytest.raises(ValueError, match=r'clip_c.*NaN/Inf'):
        ds[2]


def test_unknown_label_names_line_and_clip(tmp_path):
    root = make_store(str(tmp_path), NAMES, ['happy', 'joyful', 'sad'])
    with pytest.raises(ValueError, match=r"labels.csv:3.*clip_b.*'joyful'"):
        build(root)


def test_duplicate_clip_name(tmp_path):
    root = make_store(str(tmp_path), ['x', 'y', 'x'], LABELS)
    with pytest.raises(ValueError, match=r"duplicate clip name 'x'"):
        build(root)


@pytest.mark.parametrize('content,match', [('', 'empty file'),
                                           ('name,discrete\n', 'no clips')])
def test_empty_csv(tmp_path, content, match):
    root = make_store(str(tmp_path), NAMES, LABELS)
    with open(osp.join(root, 'labels.csv'), 'w') as f:
        f.write(content)
    with pytest.raises(ValueError, match=match):
        build(root)


def test_modality_not_in_data(tmp_path):
    root = make_store(str(tmp_path), NAMES, LABELS)
    with pytest.raises(ValueError, match=r"\['text'\] are not in the data"):
        build(root, modalities=['video', 'text'])


def test_corrupt_npy_file(tmp_path):
    root = make_store(str(tmp_path), NAMES, LABELS)
    with open(osp.join(root, 'video-UTT', 'clip_c.npy'), 'wb') as f:
        f.write(b'not a numpy file')
    ds = build(root)
    with pytest.raises(ValueError, match=r'clip_c.npy: unreadable'):
        ds[2]


# ------------------------------------------------------------- demo data
def test_demo_data_is_deterministic_and_mer_like(tmp_path):
    sizes = dict(train=600, val=30, test=30, pool=120)
    a = ensure_demo_data(str(tmp_path / 'a'), seed=3, sizes=sizes)
    b = ensure_demo_data(str(tmp_path / 'b'), seed=3, sizes=sizes)
    for m, folder in DEMO_FEATURE_SETS.items():
        x = np.load(osp.join(a, folder, 'demo_train_00007.npy'))
        assert x.shape == (DEMO_FEATURE_DIMS[m],)
        np.testing.assert_array_equal(
            x, np.load(osp.join(b, folder, 'demo_train_00007.npy')))
    ds = DemoMERDataset(split='train', data_root=a, seed=3, sizes=sizes)
    counts = np.bincount(ds.labels(), minlength=6)
    assert counts.argmax() == 0 and counts.argmin() == 5  # neutral / surprise
    audio = np.stack([ds[i]['inputs']['audio'].numpy() for i in range(50)])
    text = np.stack([ds[i]['inputs']['text'].numpy() for i in range(50)])
    assert abs(audio.mean()) > 5  # log-mel-like offset
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1, rtol=1e-4)
    pool = DemoMERDataset(split='pool', data_root=a, seed=3, sizes=sizes)
    assert (pool.labels() == -1).all() and len(pool) == 120


def test_demo_root_with_other_settings_is_refused(tmp_path):
    sizes = dict(train=30, val=6, test=6, pool=12)
    root = ensure_demo_data(str(tmp_path / 'd'), seed=0, sizes=sizes)
    with pytest.raises(ValueError, match='made with'):
        ensure_demo_data(root, seed=1, sizes=sizes)


def test_demo_frame_level(tmp_path):
    sizes = dict(train=30, val=6, test=6, pool=12)
    ds = DemoMERDataset(split='val', data_root=str(tmp_path / 'f'),
                        sizes=sizes, frame_level=True)
    x = ds[0]['inputs']['video']
    assert x.dim() == 2 and x.shape[1] == DEMO_FEATURE_DIMS['video']
    assert ds[0]['data_samples'].lengths['video'] == x.shape[0]
