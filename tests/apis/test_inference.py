"""Single-clip inference: init_model, inference_features, inference_clip and
tools/infer.py on real mp4 files, tiny encoders and a built model."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from inference_assets import (DIMS, FOLDERS, build_assets, prior_record,
                              save_checkpoint, write_extraction_config,
                              write_train_config)
from mer_test_utils import REPO, run_tool
from mer_toolbox.apis import (CheckpointMismatchError, ModalityMismatchError,
                              inference_clip, inference_features, init_model,
                              match_feature_sets, training_feature_folders)
from mer_toolbox.constants import MER2024_CLASSES
from mer_toolbox.fileio.clip_errors import ClipError
from mer_toolbox.registry import DATASETS


@pytest.fixture(scope='module')
def assets(tmp_path_factory):
    return build_assets(str(tmp_path_factory.mktemp('infer')))


@pytest.fixture(scope='module')
def model(assets):
    return init_model(assets.config, assets.checkpoint)


def clip_path(assets, i=0):
    return osp.join(assets.clips_dir, f'{assets.names[i]}.mp4')


def test_init_model_loads_weights_classes_and_eval_mode(assets, model):
    state = torch.load(assets.checkpoint, weights_only=False)['state_dict']
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, state[key])
    assert not model.training and model.input_norms_fitted
    assert model.dataset_meta['classes'] == MER2024_CLASSES
    assert model.modalities == ['video', 'audio', 'text']


def test_classes_come_from_checkpoint_meta_first(assets, tmp_path):
    custom = [f'c{i}' for i in range(6)]
    ckpt = save_checkpoint(assets.config, str(tmp_path / 'c.pth'), custom)
    assert init_model(assets.config, ckpt).dataset_meta['classes'] == \
        tuple(custom)
    bare = save_checkpoint(assets.config, str(tmp_path / 'b.pth'), None)
    assert init_model(assets.config, bare).dataset_meta['classes'] == \
        MER2024_CLASSES


def test_inference_features_matches_batched_predict(assets, model):
    cfg = Config.fromfile(assets.config)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    items = [dataset[i] for i in range(len(dataset))]
    with torch.no_grad():
        batch = model.test_step(pseudo_collate(items))  # the tools/test.py path
    for item, expected in zip(items, batch):
        name = item['data_samples'].name
        result = inference_features(model, item['inputs'], name=name)
        scores = np.array([result['scores'][c] for c in MER2024_CLASSES])
        np.testing.assert_allclose(scores.sum(), 1.0, atol=1e-5)
        np.testing.assert_allclose(scores, expected.pred_score.numpy(),
                                   rtol=1e-5, atol=1e-6)
        assert result['label'] == MER2024_CLASSES[int(scores.argmax())]
        weights = result['modality_weights']
        assert list(weights) == ['video', 'audio', 'text']
        np.testing.assert_allclose(
            list(weights.values()), expected.modality_weights.numpy(),
            rtol=1e-5, atol=1e-6)
        assert result['used_prior'] is False


def test_inference_features_rejects_bad_features(assets, model):
    feats = {m: np.zeros(d, np.float32) for m, d in DIMS.items()}
    with pytest.raises(ModalityMismatchError, match="'audio'"):
        inference_features(model, {k: v for k, v in feats.items()
                                   if k != 'audio'})
    with pytest.raises(ValueError, match="'text' features: expected "
                       'feature dimension 32'):
        inference_features(model, dict(feats, text=np.zeros(8)))
    with pytest.raises(ValueError, match='NaN/Inf'):
        inference_features(model, dict(feats, video=np.full(16, np.nan)))


def test_prior_reaches_the_sample_and_stage1_ignores_it(assets, model,
                                                        tmp_path,
                                                        monkeypatch):
    feats = {m: torch.randn(d) for m, d in DIMS.items()}
    path = tmp_path / 'prior.json'
    path.write_text(json.dumps(prior_record('clip_000')))
    plain = inference_features(model, feats, name='clip_000')
    with_prior = inference_features(model, feats, prior=str(path),
                                    name='clip_000')
    assert with_prior['scores'] == plain['scores']
    assert with_prior['used_prior'] is False  # stage 1: uses_priors is False
    # the stage-2 seam: a model declaring uses_priors sees sample.prior
    seen = []
    neck_forward = model.neck.forward
    monkeypatch.setattr(model, 'uses_priors', True, raising=False)
    monkeypatch.setattr(model.neck, 'forward', lambda z, p, samples: (
        seen.append(samples[0].get('prior')), neck_forward(z, p, samples))[1])
    out = inference_features(model, feats, prior=prior_record('clip_000'),
                             name='clip_000')
    assert out['used_prior'] is True and seen[0]['label'] == 'happy'
    failed = prior_record('clip_000', status='failed', reason='timeout')
    assert inference_features(model, feats, prior=failed,
                              name='clip_000')['used_prior'] is False


def test_invalid_prior_names_the_file(model, tmp_path):
    feats = {m: torch.zeros(d) for m, d in DIMS.items()}
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(prior_record(
        'clip_000', contributions=dict(video=0.9, audio=0.9, text=0.9))))
    with pytest.raises(ValueError, match='bad.json.*contributions'):
        inference_features(model, feats, prior=str(path))
    path.write_text('{"name": "x"}\n{"name": "y"}\n')
    with pytest.raises(ValueError, match='one record per line'):
        inference_features(model, feats, prior=str(path))


def test_inference_clip_end_to_end(assets, model):
    path, name = clip_path(assets, 1), assets.names[1]
    result = inference_clip(model, assets.extract_cfg, path,
                            subtitle=assets.subtitles[name])
    # the same numbers as predicting the features stored for this clip
    stored = {m: np.load(osp.join(assets.feature_root, FOLDERS[m],
                                  f'{name}.npy')) for m in FOLDERS}
    expected = inference_features(model, stored, name=name)
    assert result['label'] == expected['label']
    for cls, score in expected['scores'].items():
        assert result['scores'][cls] == pytest.approx(score, abs=1e-5)
    assert ('no face found', 'whole frames used for all 4 frames') in \
        result['warnings']


def test_frame_level_folder_maps_to_fra_features(assets, tmp_path):
    folders = dict(FOLDERS, video='tiny-clip-FRA')
    config = write_train_config(str(tmp_path / 'fra.py'),
                                assets.feature_root, folders=folders)
    fra = init_model(config, save_checkpoint(config, str(tmp_path / 'f.pth')))
    name = assets.names[2]
    result = inference_clip(fra, assets.extractor, clip_path(assets, 2),
                            subtitle=assets.subtitles[name])
    frames = np.load(osp.join(assets.feature_root, 'tiny-clip-FRA',
                              f'{name}.npy'))
    assert frames.shape == (4, 16)
    assert sum(result['scores'].values()) == pytest.approx(1.0, abs=1e-5)


def test_modality_mismatch_names_the_missing_modality(assets, model,
                                                      tmp_path):
    no_audio = write_extraction_config(
        str(tmp_path / 'no_audio.py'), assets.models, assets.clips_dir,
        str(tmp_path / 'f'), kinds=('clip', 'bloom'))
    with pytest.raises(ModalityMismatchError,
                       match="'audio' needs feature set 'tiny-hubert-UTT'"):
        inference_clip(model, no_audio, clip_path(assets), subtitle='hi')


def test_bad_clips_and_missing_subtitle_raise_clip_errors(assets, model,
                                                          tmp_path):
    truncated = tmp_path / 'broken.mp4'
    with open(clip_path(assets), 'rb') as f:
        truncated.write_bytes(f.read()[:3000])
    with pytest.raises(ClipError, match='broken.mp4') as err:
        inference_clip(model, assets.extractor, str(truncated), 'hi')
    assert err.value.reason == 'corrupt file'
    with pytest.raises(ClipError, match='missing subtitle'):
        inference_clip(model, assets.extractor, clip_path(assets))


def test_checkpoint_that_does_not_fit_the_config_fails_clearly(assets,
                                                               tmp_path):
    wide = write_train_config(str(tmp_path / 'wide.py'), assets.feature_root,
                              hidden_dim=24)
    with pytest.raises(CheckpointMismatchError, match=r'(?s)does not fit the '
                       r'model.*size mismatch for .*\[16, 16\].*\[24, 16\]'
                       r'.*more'):
        init_model(wide, assets.checkpoint)
    video_only = write_train_config(
        str(tmp_path / 'video.py'), assets.feature_root,
        folders=dict(video=FOLDERS['video']), dims=dict(video=DIMS['video']))
    with pytest.raises(CheckpointMismatchError, match='Unexpected key'):
        init_model(video_only, assets.checkpoint)  # strict: no partial load
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        init_model(assets.config, str(tmp_path / 'nope.pth'))


@pytest.mark.slow
def test_infer_tool_prints_label_and_writes_json(assets, tmp_path):
    out = tmp_path / 'out' / 'result.json'
    name = assets.names[0]
    proc = run_tool(['tools/infer.py', assets.config, assets.checkpoint,
                     clip_path(assets), '--extract-config',
                     assets.extract_cfg, '--subtitle', assets.subtitles[name],
                     '--device', 'cpu', '--json', str(out)], timeout=300)
    result = json.loads(out.read_text())
    assert f"emotion: {result['label']}" in proc.stdout
    for cls in MER2024_CLASSES:
        assert cls in proc.stdout
    assert 'modality weights: video' in proc.stdout
    assert result['clip'] == clip_path(assets)
    assert sum(result['scores'].values()) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.slow
def test_infer_tool_fails_on_a_corrupt_clip(assets, tmp_path):
    bad = tmp_path / 'garbage.mp4'
    bad.write_bytes(b'\x00not a video' * 300)
    proc = run_tool(['tools/infer.py', assets.config, assets.checkpoint,
                     str(bad), '--extract-config', assets.extract_cfg,
                     '--subtitle', 'hi'], check=False, timeout=300)
    assert proc.returncode == 1
    assert 'garbage.mp4' in proc.stderr and 'corrupt file' in proc.stderr


def test_infer_tool_bad_inputs_exit_2(assets, tmp_path, capsys):
    import importlib.util
    tool = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'infer.py')
    spec = importlib.util.spec_from_file_location('infer_tool', tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    base = [assets.config, assets.checkpoint, clip_path(assets),
            '--extract-config', assets.extract_cfg, '--subtitle', 'hi']
    missing = str(tmp_path / 'missing.mp4')
    assert module.main([assets.config, assets.checkpoint, missing] +
                       base[3:]) == 2
    assert 'missing.mp4' in capsys.readouterr().err
    assert module.main(base + ['--feature-map', 'audio=nothing-UTT']) == 2
    err = capsys.readouterr().err
    assert "'audio' needs feature set 'nothing-UTT'" in err


def test_feature_folders_are_found_inside_dataset_wrappers():
    semi = dict(train_dataloader=dict(dataset=dict(
        type='SemiSupervisedDataset',
        labelled=dict(type='MERFeatureDataset',
                      data_prefix=dict(video='feats/x-UTT/', text='y-FRA')),
        unlabelled=dict(type='MERFeatureDataset'))))
    assert training_feature_folders(semi) == dict(video='x-UTT', text='y-FRA')
    with pytest.raises(ModalityMismatchError, match='feature_map'):
        training_feature_folders(Config.fromfile(
            osp.join(REPO, 'configs', 'bdcl_stage1.py')))  # demo data


def test_shipped_mer2024_configs_match_by_folder_name():
    train = Config.fromfile(osp.join(REPO, 'configs', 'mer2024',
                                     'bdcl_stage1_mer2024.py'))
    extract = Config.fromfile(osp.join(REPO, 'configs', 'extraction',
                                       'mer2024.py'))
    produced = {f"{s['name']}-{level}": s['name']
                for s in extract.feature_sets for level in s['levels']}
    plan = match_feature_sets(produced, training_feature_folders(train),
                              train.model.modalities)
    assert plan['audio'] == ('chinese-hubert-large',
                             'chinese-hubert-large-UTT')
    assert set(plan) == {'video', 'audio', 'text'}
