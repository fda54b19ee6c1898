"""Feature extraction for t-SNE from a config and a checkpoint file."""
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mer_test_utils import TINY_SIZES, write_tiny_config
from mer_toolbox.datasets import DemoMERDataset
from mer_toolbox.engine import UnsafeCheckpointError
from mer_toolbox.registry import MODELS
from mer_toolbox.visualization.features import (build_split_dataset,
                                                extract_split_features,
                                                labelled_indices, load_model,
                                                predict_split)


class NotAllowed:
    """A custom object: the safe loader must refuse to rebuild it."""


@pytest.fixture(scope='module')
def saved(tmp_path_factory, tiny_demo_root):
    """A config and an untrained checkpoint with fitted input statistics."""
    tmp = tmp_path_factory.mktemp('vis_features')
    cfg = Config.fromfile(write_tiny_config(str(tmp / 'cfg.py'), tiny_demo_root,
                                            base='ablations/ce_bdcl.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    train = build_split_dataset(cfg, 'train')
    model.fit_input_norms({m: train.feature_statistics(m) for m in model.modalities})
    ckpt = str(tmp / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), ckpt)
    return dict(cfg=cfg, ckpt=ckpt, model=model.eval(), tmp=tmp)


def test_features_of_a_split_follow_the_model(saved):
    cfg, model = saved['cfg'], saved['model']
    dataset = build_split_dataset(cfg, 'test')
    loaded = load_model(cfg, saved['ckpt'])
    idx = labelled_indices(dataset, max_samples=40, seed=1)
    feats = extract_split_features(loaded, dataset, idx, batch_size=16)
    assert sorted(feats.features) == ['audio', 'fused', 'text', 'video']
    assert feats.features['fused'].shape == (40, 128)
    assert feats.classes == tuple(dataset.metainfo['classes'])
    assert feats.names == [dataset.get_data_info(i)['name'] for i in idx]
    np.testing.assert_array_equal(
        feats.labels, [dataset.get_data_info(i)['gt_label'] for i in idx])
    # The video embedding by hand: standardise, then the video encoder.
    raw = torch.stack([dataset[int(i)]['inputs']['video'] for i in idx])  # (40, D)
    with torch.no_grad():
        z_video = model.encoders['video'](model.input_norms['video'](raw), None)
        logits = model.head(torch.from_numpy(feats.features['fused']))  # (40, C)
    np.testing.assert_allclose(feats.features['video'], z_video.numpy(), atol=1e-5)
    gt, pred = predict_split(loaded, dataset, idx)
    np.testing.assert_array_equal(gt, feats.labels)
    np.testing.assert_array_equal(pred, logits.argmax(1).numpy())


def test_subsets_are_seeded_and_shared_by_models(saved, tiny_demo_root):
    dataset = build_split_dataset(saved['cfg'], 'test')
    a = labelled_indices(dataset, 30, seed=0)
    assert np.array_equal(a, labelled_indices(dataset, 30, seed=0))
    assert not np.array_equal(a, labelled_indices(dataset, 30, seed=1))
    assert len(labelled_indices(dataset)) == TINY_SIZES['test']
    pool = DemoMERDataset(split='pool', data_root=tiny_demo_root, sizes=TINY_SIZES)
    with pytest.raises(ValueError, match='no labelled'):
        labelled_indices(pool)


def test_checkpoints_load_strictly_and_safely(saved):
    state = dict(saved['model'].state_dict())
    state.pop(next(k for k in state if k.startswith('head.')))
    partial = str(saved['tmp'] / 'partial.pth')
    torch.save(dict(state_dict=state), partial)
    with pytest.raises(RuntimeError, match='does not fit'):
        load_model(saved['cfg'], partial)
    unsafe = str(saved['tmp'] / 'unsafe.pth')
    torch.save(dict(state_dict=saved['model'].state_dict(), meta=NotAllowed()), unsafe)
    with pytest.raises(UnsafeCheckpointError):
        load_model(saved['cfg'], unsafe)
    with pytest.raises(KeyError, match='no train2_dataloader'):
        build_split_dataset(saved['cfg'], 'train2')
