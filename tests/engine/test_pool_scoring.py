"""Pool scoring for pseudo-labelling: the bulk-path decision is made once,
folded standardisation scores like the unfolded model, the model is left
as it was."""
import numpy as np
import pytest
import torch

from mer_toolbox.engine.hooks.pool_scoring import PoolScorer, score_dataset
from mer_toolbox.registry import MODELS

DIMS = dict(video=6, audio=4)


class _Store:
    frame_level = False


class _CountingPool:
    """A bulk-readable pool that may mask modalities (so deciding the bulk
    path means reading every record), counting the records read."""

    missing_modality = 'mask'

    def __init__(self, n=10, seed=0):
        rng = np.random.default_rng(seed)
        self.rows = {m: (rng.normal(size=(n, d)) * 4 + 2).astype(np.float32)
                     for m, d in DIMS.items()}
        self.n, self.records_read = n, 0

    def __len__(self):
        return self.n

    def stores(self):
        return {m: _Store() for m in DIMS}

    def get_data_info(self, i):
        self.records_read += 1
        return dict(modality_present={m: True for m in DIMS})

    def load_rows(self, start, stop):
        return {m: a[start:stop] for m, a in self.rows.items()}


def model():
    net = MODELS.build(dict(
        type='MultimodalEmotionClassifier', modalities=list(DIMS),
        feature_dims=DIMS,
        encoders=dict(type='MLPFeatureProjector', hidden_dim=8),
        neck=dict(type='AttentionFusionNeck'),
        head=dict(type='LinearClsHead', num_classes=6)))
    rng = np.random.default_rng(1)
    net.fit_input_norms({m: (rng.normal(size=d) * 2, rng.uniform(0.5, 3, d))
                         for m, d in DIMS.items()})
    return net.train()


def test_bulk_path_is_decided_once_per_pool():
    pool, net = _CountingPool(), model()
    scorer = PoolScorer(pool, batch_size=4)
    first, second = scorer(net), scorer(net)
    assert pool.records_read == len(pool)  # one walk, not one per round
    assert first.shape == (10, 6)
    np.testing.assert_array_equal(first, second)


def test_folded_scores_equal_unfolded_and_model_is_untouched():
    pool, net = _CountingPool(), model()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    folded = score_dataset(net, pool, batch_size=3, bulk=True)
    plain = score_dataset(net, pool, batch_size=3, bulk=True,
                          fold_norms=False)
    np.testing.assert_allclose(folded, plain, rtol=1e-5, atol=1e-6)
    # an independent reference: softmax of the plain forward, by hand
    net.eval()
    with torch.no_grad():
        logits = net({m: torch.from_numpy(a) for m, a in pool.rows.items()},
                     None, mode='tensor')
    np.testing.assert_allclose(folded, logits.softmax(-1).numpy(),
                               rtol=1e-5, atol=1e-6)
    net.train()
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert net.training and net.encoders['video'].training


def test_batch_size_must_be_positive():
    with pytest.raises(ValueError, match='batch_size must be >= 1'):
        PoolScorer(_CountingPool(), batch_size=0)
