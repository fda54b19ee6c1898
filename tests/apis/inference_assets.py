"""Tiny real assets for the inference tests, built once per test module.

Synthetic mp4 clips and tiny random CLIP / HuBERT / BLOOM checkpoints (from
:mod:`mer_toolbox.media.demo_assets`), an extraction config using them,
features extracted by the library into the MERTools layout with a label CSV,
a training config (``configs/ablations/ce_bdcl.py`` over those folders) and
a checkpoint of a model built from it with fitted input statistics.

Not a conftest.py on purpose (see tests/media/media_fixtures.py); the module
name is unique so it cannot shadow another folder's helpers.
"""
import os
import os.path as osp
from types import SimpleNamespace

import numpy as np
import torch

from mer_toolbox.constants import MER2024_CLASSES
from mer_toolbox.media.demo_assets import (SAMPLE_TEXTS,
                                           build_tiny_checkpoints,
                                           write_synthetic_clip)
from mer_test_utils import REPO

NUM_CLIPS = 6
FOLDERS = dict(video='tiny-clip-UTT', audio='tiny-hubert-UTT',
               text='tiny-bloom-UTT')
DIMS = dict(video=16, audio=32, text=32)  # the tiny models' output sizes


def write_extraction_config(path: str, models: dict, clips_dir: str,
                            feature_root: str,
                            kinds=('clip', 'hubert', 'bloom')) -> str:
    """An extraction config over the tiny checkpoints (levels: CLIP UTT+FRA)."""
    sets = dict(
        clip=f"dict(encoder=dict(type='CLIPVisionEncoder', pretrained="
             f"{models['clip']!r}, device='cpu'), levels=('UTT', 'FRA'))",
        hubert=f"dict(encoder=dict(type='HFAudioEncoder', pretrained="
               f"{models['hubert']!r}, layers=[-2, -1], device='cpu'))",
        bloom=f"dict(encoder=dict(type='HFTextEncoder', pretrained="
              f"{models['bloom']!r}, layers=[-2, -1], device='cpu'))")
    text = f"""
clips = dict(video_root={clips_dir!r})
video = dict(num_frames=4, faces=dict(detector=dict(type='opencv_haar'),
                                      size=48, on_no_face='whole_frame'))
audio = dict(sample_rate=16000)
subtitle = dict(empty='missing')
feature_sets = [{', '.join(sets[k] for k in kinds)}]
output = dict(root={feature_root!r})
"""
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return path


def write_train_config(path: str, feature_root: str, folders=None,
                       dims=None, hidden_dim: int = 16) -> str:
    """``ce_bdcl.py`` with a MERFeatureDataset over the extracted folders."""
    folders, dims = dict(folders or FOLDERS), dict(dims or DIMS)
    base = osp.join(REPO, 'configs', 'ablations', 'ce_bdcl.py')
    text = f"""
_base_ = [{base!r}]
_dataset = dict(type='MERFeatureDataset', data_root={feature_root!r},
                ann_file='labels.csv', data_prefix={folders!r},
                feature_dims={dims!r})
train_dataloader = dict(batch_size=4, dataset=dict(_delete_=True, **_dataset))
val_dataloader = dict(dataset=dict(_delete_=True, **_dataset))
test_dataloader = dict(dataset=dict(_delete_=True, **_dataset))
model = dict(modalities={list(folders)!r}, feature_dims={dims!r},
             encoders=dict(hidden_dim={hidden_dim}), contrastive_dim=8)
"""
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return path


def save_checkpoint(config: str, path: str, classes=MER2024_CLASSES,
                    seed: int = 0) -> str:
    """Build the config's model, fit its input norms on the training split
    (what FeatureNormHook does) and save a Runner-shaped checkpoint."""
    from mmengine.config import Config

    from mer_toolbox.registry import DATASETS, MODELS
    cfg = Config.fromfile(config)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    model.fit_input_norms({m: dataset.feature_statistics(m)
                           for m in model.modalities})
    meta = {} if classes is None else {
        'dataset_meta': {'classes': tuple(classes)}}
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
    return path


def build_assets(root: str) -> SimpleNamespace:
    """Everything the tests need, under ``root`` (see module doc)."""
    from mer_toolbox.apis import build_extractor
    models = build_tiny_checkpoints(osp.join(root, 'models'),
                                    kinds=('clip', 'hubert', 'bloom'))
    clips_dir, feature_root = osp.join(root, 'clips'), osp.join(root, 'feats')
    names, subtitles = [], {}
    for i in range(NUM_CLIPS):
        name = f'clip_{i:03d}'
        write_synthetic_clip(osp.join(clips_dir, f'{name}.mp4'),
                             seconds=1.0 + 0.2 * i, tone_hz=220.0 * (i + 1))
        names.append(name)
        subtitles[name] = SAMPLE_TEXTS[i % len(SAMPLE_TEXTS)]
    extract_cfg = write_extraction_config(osp.join(root, 'extract.py'),
                                          models, clips_dir, feature_root)
    extractor = build_extractor(extract_cfg)
    for name in names:
        feats = extractor.extract_clip(osp.join(clips_dir, f'{name}.mp4'),
                                       subtitles[name])
        for folder, array in feats.items():
            os.makedirs(osp.join(feature_root, folder), exist_ok=True)
            np.save(osp.join(feature_root, folder, f'{name}.npy'), array)
    with open(osp.join(feature_root, 'labels.csv'), 'w',
              encoding='utf-8') as f:
        f.write('name,discrete\n' + ''.join(
            f'{n},{MER2024_CLASSES[i % 6]}\n' for i, n in enumerate(names)))
    config = write_train_config(osp.join(root, 'train.py'), feature_root)
    checkpoint = save_checkpoint(config, osp.join(root, 'model.pth'))
    return SimpleNamespace(root=root, models=models, clips_dir=clips_dir,
                           feature_root=feature_root, names=names,
                           subtitles=subtitles, extract_cfg=extract_cfg,
                           extractor=extractor, config=config,
                           checkpoint=checkpoint)


def prior_record(name: str, **overrides) -> dict:
    """A valid prior record for ``name`` (the schema of mer_toolbox.priors)."""
    record = dict(name=name, teacher='unit-test', prompt_version='v0',
                  label='happy',
                  scores={c: 0.1 for c in MER2024_CLASSES},
                  action_units=[6, 12], reasoning='smiles',
                  contributions=dict(video=0.5, audio=0.3, text=0.2))
    record['scores']['happy'] = 0.9
    record.update(overrides)
    return record
