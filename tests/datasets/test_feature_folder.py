"""The "your own features" path: arrays -> feature folder -> training."""
import json
import os.path as osp
import pickle

import numpy as np
import pytest
from mmengine.config import Config

from mer_test_utils import ARRAY_CLASSES as CLASSES
from mer_test_utils import REPO, make_npz, run_tool
from mer_toolbox.apis import inference_features, init_model
from mer_toolbox.datasets import (FeatureFolderDataset,
                                  describe_feature_folder,
                                  resolve_auto_fields)
from mer_toolbox.datasets.array_converter import (load_arrays,
                                                  write_feature_folder)


@pytest.mark.parametrize('layout', ['npy', 'packed'])
def test_npz_roundtrip_through_dataset(tmp_path, layout):
    arrays = make_npz(tmp_path / 'a.npz')
    data = load_arrays(str(tmp_path / 'a.npz'))
    root = str(tmp_path / 'ff')
    counts = write_feature_folder(root, data['splits'], data['classes'],
                                  layout)
    assert counts == dict(train=30, val=12, test=12)
    info = describe_feature_folder(root)
    assert info == dict(classes=CLASSES, modalities=['video', 'audio'],
                        feature_dims=dict(video=4, audio=6))
    # raw values (speaker centring, on for this folder, has its own tests)
    ds = FeatureFolderDataset(root, split='val', speaker_centering=None)
    assert ds.metainfo['classes'] == tuple(CLASSES)
    assert len(ds) == 12
    item = ds[5]
    np.testing.assert_array_equal(item['inputs']['audio'].numpy(),
                                  arrays['val__audio'][5])
    assert item['data_samples'].label == arrays['val__y'][5]
    # extra (N,) arrays become CSV columns (e.g. a speaker to group folds by)
    with open(osp.join(root, 'label-train.csv'), encoding='utf-8') as f:
        assert f.readline().strip() == 'name,discrete,actor'


def test_mmsa_pickle_trims_padded_frames(tmp_path):
    rng = np.random.default_rng(1)
    part = lambda n: dict(  # noqa: E731
        id=[f'c{i}' for i in range(n)],
        vision=rng.normal(size=(n, 5, 3)).astype(np.float32),
        vision_lengths=np.full(n, 2),
        text=rng.normal(size=(n, 8)).astype(np.float32),
        classification_labels=np.arange(n) % 2)
    with open(tmp_path / 'm.pkl', 'wb') as f:
        pickle.dump(dict(train=part(4), valid=part(2), test=part(2)), f)
    data = load_arrays(str(tmp_path / 'm.pkl'), classes=['neg', 'pos'])
    # valid -> val, vision -> video; ids repeat across the toy splits
    for split in ('val', 'test'):
        data['splits'][split]['names'] = [
            f'{split}{n}' for n in data['splits'][split]['names']]
    write_feature_folder(str(tmp_path / 'ff'), data['splits'],
                         data['classes'])
    clip = np.load(tmp_path / 'ff' / 'video' / 'c1.npy')
    assert clip.shape == (2, 3)  # padded to 5 frames, 2 real
    assert describe_feature_folder(str(tmp_path / 'ff'))['modalities'] == \
        ['video', 'text']


def test_converter_rejects_bad_labels_and_duplicate_names(tmp_path):
    make_npz(tmp_path / 'a.npz')
    data = load_arrays(str(tmp_path / 'a.npz'))
    with pytest.raises(ValueError, match='outside the 2 classes'):
        write_feature_folder(str(tmp_path / 'x'), data['splits'],
                             CLASSES[:2])
    data['splits']['test']['names'] = data['splits']['val']['names']
    with pytest.raises(ValueError, match="appears in val and test"):
        write_feature_folder(str(tmp_path / 'y'), data['splits'], CLASSES)


def _folder(tmp_path):
    make_npz(tmp_path / 'a.npz')
    data = load_arrays(str(tmp_path / 'a.npz'))
    root = str(tmp_path / 'ff')
    write_feature_folder(root, data['splits'], data['classes'], 'packed')
    return root


def _recipe(root):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'feature_folder',
                                   'bdcl_stage1.py'))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = root
    return cfg


def test_auto_fields_come_from_the_data(tmp_path):
    cfg = _recipe(_folder(tmp_path))
    assert cfg.model.head.num_classes == 'auto'
    resolve_auto_fields(cfg)
    assert cfg.model.head.num_classes == 3
    assert cfg.model.modalities == ['video', 'audio']
    assert cfg.model.feature_dims == dict(video=4, audio=6)


def test_num_classes_disagreeing_with_classes_txt_names_both(tmp_path):
    root = _folder(tmp_path)
    cfg = _recipe(root)
    cfg.model.head.num_classes = 6
    with pytest.raises(ValueError, match=r'num_classes=6 .*classes\.txt '
                       r'lists 3 classes'):
        resolve_auto_fields(cfg)


def test_auto_without_feature_folder_is_an_error():
    cfg = Config(dict(model=dict(modalities='auto', head=dict()),
                      train_dataloader=dict(dataset=dict(type='X'))))
    with pytest.raises(ValueError, match="no dataloader reads a "
                       'FeatureFolderDataset'):
        resolve_auto_fields(cfg)


def test_bad_folders_fail_with_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        describe_feature_folder(str(tmp_path / 'nope'))
    (tmp_path / 'video').mkdir()
    with pytest.raises(FileNotFoundError, match='classes.txt'):
        describe_feature_folder(str(tmp_path))
    (tmp_path / 'classes.txt').write_text('a\nb\nA\n')
    with pytest.raises(ValueError, match="class 'A' is listed twice"):
        describe_feature_folder(str(tmp_path))
    (tmp_path / 'classes.txt').write_text('a\nb\n')
    with pytest.raises(FileNotFoundError, match=r"modalities \['audio'\]"):
        describe_feature_folder(str(tmp_path), ['audio'])


def test_train_tool_on_a_feature_folder(tmp_path):
    """DATA_ROOT=... tools/train.py configs/feature_folder/bdcl_stage1.py
    trains, validates every epoch and scores its final model on test."""
    root = _folder(tmp_path)
    work = tmp_path / 'work'
    proc = run_tool(['tools/train.py', 'configs/feature_folder/bdcl_stage1.py',
              '--work-dir', str(work), '--cfg-options',
              'train_cfg.max_epochs=3', 'train_dataloader.batch_size=16'],
             env=dict(DATA_ROOT=root))
    report = json.loads((work / 'test_metrics.json').read_text())
    assert report['class_names'] == CLASSES
    assert 0.0 <= report['metrics']['waf'] <= 100.0
    log = proc.stdout + proc.stderr
    assert 'Epoch(val) [3]' in log and 'testing the final model' in log
    assert (work / 'epoch_3.pth').is_file()
    # the folder names actors: features were centred, and the checkpoint
    # says so, so one clip's raw features are refused at inference
    assert "features centred per speaker (column 'actor'" in log
    model = init_model(str(work / 'bdcl_stage1.py'), str(work / 'epoch_3.pth'))
    assert model.dataset_meta['speaker_centering'] == 'actor'
    clip = dict(audio=np.zeros(6, np.float32), video=np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"clip: the model was trained on "
                       r"features centred per speaker \(column 'actor'\)"):
        inference_features(model, clip)
    assert inference_features(model, clip, speaker_centred=True)['label'] \
        in CLASSES
