"""Every shipped config parses, and every model config builds its model."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mer_test_utils import REPO
from mer_toolbox.registry import MODELS

CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True)
    if '_base_' not in p and osp.join('configs', 'priors', 'demo') not in p)


@pytest.fixture(scope='module')
def feature_folder(tmp_path_factory):
    """A tiny DATA_ROOT for the feature-folder recipes ('auto' fields)."""
    import numpy as np

    from mer_toolbox.datasets.array_converter import write_feature_folder
    rng = np.random.default_rng(0)
    splits = {s: dict(features=dict(audio=rng.normal(size=(6, 5)),
                                    text=rng.normal(size=(6, 7))),
                      labels=np.arange(6) % 3,
                      names=[f'{s}{i}' for i in range(6)], columns={})
              for s in ('train', 'val', 'test')}
    root = str(tmp_path_factory.mktemp('ff'))
    write_feature_folder(root, splits, ['a', 'b', 'c'])
    return root


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, REPO) for p in CONFIGS])
def test_config_parses_and_builds_its_model(path, feature_folder):
    from mer_toolbox.datasets import resolve_auto_fields
    cfg = Config.fromfile(path, import_custom_modules=False)
    if 'model' not in cfg:
        return  # extraction / prior-generation configs: own tools, own tests
    if osp.join('configs', 'feature_folder') in path:
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader'):
            dataset = cfg[loader].dataset
            for part in (dataset.get('labelled'), dataset.get('unlabelled'),
                         dataset):
                if part is not None and 'data_root' in part:
                    part.data_root = feature_folder
        resolve_auto_fields(cfg)
        assert cfg.model.head.num_classes == 3
        assert cfg.model.feature_dims == dict(audio=5, text=7)
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert loader in cfg, f'{path} has no {loader}'
