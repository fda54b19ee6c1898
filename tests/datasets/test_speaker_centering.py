"""Features centred on each speaker's mean (speaker normalisation)."""
import csv

import numpy as np
import pytest

from mer_toolbox.datasets import FeatureFolderDataset, MERFeatureDataset
from mer_toolbox.datasets.array_converter import (load_arrays,
                                                  write_feature_folder)
from mer_toolbox.datasets.speaker_centering import (SpeakerCentering,
                                                    find_speaker_column)

from mer_test_utils import make_npz


def _folder(tmp_path, layout='packed'):
    arrays = make_npz(tmp_path / 'a.npz')
    data = load_arrays(str(tmp_path / 'a.npz'))
    root = str(tmp_path / 'ff')
    write_feature_folder(root, data['splits'], data['classes'], layout)
    return root, arrays


def _centred(arrays, split, modality):
    """Independent reference: subtract each actor's mean over the split."""
    x = arrays[f'{split}__{modality}'].astype(np.float64)
    actor = arrays[f'{split}__actor']
    out = x.copy()
    for a in np.unique(actor):
        out[actor == a] -= x[actor == a].mean(0)
    return out


def _rewrite_csv(path, keep_columns, row=None, **cells):
    """Rewrite a label CSV with ``keep_columns`` only; ``cells`` replace
    those of data row ``row`` (0-based)."""
    with open(path, newline='', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    if row is not None:
        rows[row].update(cells)
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.DictWriter(f, fieldnames=keep_columns,
                                extrasaction='ignore')
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize('layout', ['npy', 'packed'])
def test_auto_centres_every_path_on_the_speaker_mean(tmp_path, layout):
    root, arrays = _folder(tmp_path, layout)
    ds = FeatureFolderDataset(root, split='val')  # 'auto': finds 'actor'
    assert ds.speaker_column == 'actor'
    for m in ('audio', 'video'):
        ref = _centred(arrays, 'val', m)
        items = np.stack([ds[i]['inputs'][m].numpy() for i in range(len(ds))])
        np.testing.assert_allclose(items, ref, atol=1e-5)
        # the bulk path of pool scoring gives the same rows
        np.testing.assert_allclose(ds.load_rows(2, 9)[m], ref[2:9],
                                   atol=1e-5)
        # the input statistics are those of the centred features
        mean, std = ds.feature_statistics(m)
        np.testing.assert_array_equal(mean, 0.0)
        np.testing.assert_allclose(std, ref.std(0) + 1e-6, rtol=1e-5)
    # a subset keeps each clip's own speaker
    ds.get_subset_([7, 3])
    np.testing.assert_allclose(ds[0]['inputs']['audio'].numpy(),
                               _centred(arrays, 'val', 'audio')[7],
                               atol=1e-5)


def test_off_and_without_a_speaker_column_reads_raw(tmp_path):
    root, arrays = _folder(tmp_path)
    raw = FeatureFolderDataset(root, split='val', speaker_centering=None)
    assert raw.centering is None
    np.testing.assert_array_equal(raw[4]['inputs']['audio'].numpy(),
                                  arrays['val__audio'][4])
    for split in ('train', 'val', 'test'):
        _rewrite_csv(f'{root}/label-{split}.csv', ['name', 'discrete'])
    auto = FeatureFolderDataset(root, split='val')
    assert auto.speaker_column is None
    np.testing.assert_array_equal(auto[4]['inputs']['audio'].numpy(),
                                  arrays['val__audio'][4])


def test_a_label_file_without_the_folders_speaker_column_is_an_error(
        tmp_path):
    """label-train.csv decides for the folder: a split or pool without the
    column fails instead of being read uncentred."""
    root, _ = _folder(tmp_path)
    _rewrite_csv(f'{root}/label-test.csv', ['name', 'discrete'])
    with pytest.raises(ValueError, match=r"label-test\.csv: no 'actor' "
                       r'column .*speaker_centering needs it'):
        FeatureFolderDataset(root, split='test')
    _rewrite_csv(f'{root}/label-val.csv', ['name', 'discrete', 'actor'],
                 row=2, actor=' ')
    with pytest.raises(ValueError, match=r"label-val\.csv:4: clip 'val-2' "
                       r"has an empty 'actor' cell"):
        FeatureFolderDataset(root, split='val')


def test_a_speaker_with_one_clip_is_an_error(tmp_path):
    root, _ = _folder(tmp_path)
    _rewrite_csv(f'{root}/label-val.csv', ['name', 'discrete', 'actor'],
                 row=0, actor='solo')
    with pytest.raises(ValueError, match=r"speakers \[\"'solo' \(1\)\"\] "
                       'have fewer than 2 clips'):
        FeatureFolderDataset(root, split='val')


def test_frame_level_and_masked_clips():
    """Every frame counts in a speaker's mean; masked clips are skipped."""
    rng = np.random.default_rng(0)
    clips = [rng.normal(size=(t, 3)) for t in (2, 5, 1, 4, 3)]
    speakers = ['a', 'b', 'a', 'b', 'a']
    present = np.array([True, True, True, True, False])
    centring = SpeakerCentering(speakers)
    centring.fit('video', lambda i: clips[i], present)
    a = np.concatenate([clips[0], clips[2]])  # clip 4 is masked
    b = np.concatenate([clips[1], clips[3]])
    np.testing.assert_allclose(centring.means['video'],
                               np.stack([a.mean(0), b.mean(0)]))
    np.testing.assert_allclose(centring.apply('video', 3, clips[3]),
                               clips[3] - b.mean(0), atol=1e-6)
    pooled = np.concatenate([a - a.mean(0), b - b.mean(0)])
    np.testing.assert_allclose(centring.statistics('video')[1],
                               pooled.std(0) + 1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match=r"speakers \['b'\] have no clip "
                       "with 'video' features"):
        SpeakerCentering(speakers).fit('video', lambda i: clips[i],
                                       np.array([1, 0, 1, 0, 1], bool))


def test_column_lookup_order_and_explicit_column(tmp_path):
    assert find_speaker_column(['name', 'actor', 'speaker']) == 'speaker'
    assert find_speaker_column(['name', 'discrete']) is None
    root, arrays = _folder(tmp_path)
    ds = MERFeatureDataset('label-val.csv', data_root=root,
                           data_prefix=dict(audio='audio'),
                           metainfo=dict(classes=('calm', 'happy', 'sad')),
                           speaker_centering='actor')
    np.testing.assert_allclose(ds[1]['inputs']['audio'].numpy(),
                               _centred(arrays, 'val', 'audio')[1],
                               atol=1e-5)
