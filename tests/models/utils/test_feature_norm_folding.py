"""Folding the input standardisation into the first Linear (inference only):
same logits as the unfolded model, the trained model left untouched."""
import numpy as np
import pytest
import torch
from torch import nn

from mer_toolbox.models.utils import FeatureStandardizer
from mer_toolbox.registry import MODELS

DIMS = dict(video=5, audio=7, text=3)


def fitted(dim, seed, offset=3.0):
    rng = np.random.default_rng(seed)
    norm = FeatureStandardizer(dim)
    norm.fit(rng.normal(size=dim) * offset, rng.uniform(0.2, 4.0, dim))
    return norm


def test_folded_linear_equals_standardise_then_linear_in_float64():
    norm, linear = fitted(6, 0).double(), nn.Linear(6, 4).double()
    x = torch.randn(20, 6, dtype=torch.float64) * 3 + 1
    folded = norm.fold_into(linear)
    # the reference: the two steps as written, by hand
    expected = ((x - norm.mean) / norm.std) @ linear.weight.T + linear.bias
    torch.testing.assert_close(folded(x), expected, rtol=1e-12, atol=1e-12)
    assert folded is not linear


def test_fold_refuses_what_it_cannot_do():
    with pytest.raises(RuntimeError, match='unfitted'):
        FeatureStandardizer(4).fold_into(nn.Linear(4, 2))
    with pytest.raises(ValueError, match='5-d standardiser cannot fold into '
                       r'Linear\(4, 2\)'):
        fitted(5, 0).fold_into(nn.Linear(4, 2))
    far = FeatureStandardizer(2)
    far.fit(np.array([1e4, 0.0]), np.array([1.0, 1.0]))  # |mu| / sigma 1e4
    assert far.fold_into(nn.Linear(2, 2)) is None


def build(encoders=None):
    model = MODELS.build(dict(
        type='MultimodalEmotionClassifier', modalities=list(DIMS),
        feature_dims=DIMS,
        encoders=encoders or dict(type='MLPFeatureProjector', hidden_dim=8),
        neck=dict(type='AttentionFusionNeck'),
        head=dict(type='LinearClsHead', num_classes=6)))
    model.fit_input_norms({m: (fitted(d, i).mean.numpy(),
                               fitted(d, i).std.numpy())
                           for i, (m, d) in enumerate(DIMS.items())})
    return model.eval()


def test_folded_twin_gives_the_unfolded_logits_and_changes_nothing():
    model = build()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    twin = model.folded_input_norms()
    assert twin is not model and len(twin.input_norms) == 0
    x = {m: torch.randn(16, d) * 3 + 1 for m, d in DIMS.items()}
    with torch.no_grad():
        torch.testing.assert_close(twin(x, None, mode='tensor'),
                                   model(x, None, mode='tensor'),
                                   rtol=1e-5, atol=1e-5)
    after = model.state_dict()
    assert sorted(after) == sorted(before)  # no key lost or added
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert len(model.input_norms) == len(DIMS)
    # only the first Linear is new; the rest is shared, not copied
    assert twin.encoders['video'].mlp[0] is not model.encoders['video'].mlp[0]
    assert twin.encoders['video'].mlp[3] is model.encoders['video'].mlp[3]
    assert twin.neck is model.neck and twin.head is model.head


def test_encoders_that_cannot_fold_keep_their_standardiser():
    model = build(dict(
        video=dict(type='MLPFeatureProjector', hidden_dim=8),
        audio=dict(type='TransformerSequenceEncoder', hidden_dim=8,
                   num_heads=2, num_layers=1),
        text=dict(type='MLPFeatureProjector', hidden_dim=8)))
    twin = model.folded_input_norms()
    assert sorted(twin.input_norms) == ['audio']
    x = {m: torch.randn(4, d) for m, d in DIMS.items()}
    with torch.no_grad():
        torch.testing.assert_close(twin(x, None, mode='tensor'),
                                   model(x, None, mode='tensor'),
                                   rtol=1e-5, atol=1e-5)


def test_unfitted_statistics_still_fail_with_the_explanation():
    model = MODELS.build(dict(
        type='MultimodalEmotionClassifier', modalities=['video'],
        feature_dims=dict(video=5),
        encoders=dict(type='MLPFeatureProjector', hidden_dim=8),
        neck=dict(type='AttentionFusionNeck'),
        head=dict(type='LinearClsHead', num_classes=6)))
    with pytest.raises(RuntimeError, match='FeatureNormHook'):
        model.folded_input_norms()({'video': torch.randn(2, 5)}, None)
