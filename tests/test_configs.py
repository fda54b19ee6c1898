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


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, REPO) for p in CONFIGS])
def test_config_parses_and_builds_its_model(path):
    cfg = Config.fromfile(path, import_custom_modules=False)
    if 'model' not in cfg:
        return  # extraction / prior-generation configs: own tools, own tests
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert loader in cfg, f'{path} has no {loader}'
