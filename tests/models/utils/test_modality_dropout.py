"""Modality dropout: the drawn mask, its guarantees, and the classifier's use."""
import pytest
import torch

from mer_toolbox.models.utils.modality_dropout import drop_modalities
from mer_toolbox.registry import MODELS
from mer_toolbox.structures import EmotionSample


def test_drop_keeps_a_present_modality_in_every_clip_and_adds_none():
    torch.manual_seed(0)
    present = torch.rand(4000, 3) > 0.3
    present[present.sum(1) == 0, 0] = True  # every clip has one
    kept = drop_modalities(present, 0.5)
    assert not bool((kept & ~present).any())  # only removes
    assert bool(kept.any(1).all())
    # a clip with one modality always keeps it
    single = present.sum(1) == 1
    assert torch.equal(kept[single], present[single])


def test_drop_rate_matches_p_and_the_rescue_is_uniform():
    torch.manual_seed(1)
    present = torch.ones(20000, 2, dtype=torch.bool)
    kept = drop_modalities(present, 0.3)
    # P(kept) = 0.7 + P(both drawn) * 1/2 = 0.7 + 0.09 / 2
    assert float(kept.float().mean()) == pytest.approx(0.745, abs=0.01)
    both_drawn_rescue = kept.sum(1) == 1
    # a single survivor is audio or video about equally often
    share = float(kept[both_drawn_rescue, 0].float().mean())
    assert share == pytest.approx(0.5, abs=0.03)


def test_drop_is_a_no_op_at_zero_or_with_one_modality_and_draws_nothing():
    present = torch.ones(8, 1, dtype=torch.bool)
    torch.manual_seed(2)
    before = torch.rand(1)
    torch.manual_seed(2)
    assert torch.equal(drop_modalities(present, 0.9), present)
    two = torch.ones(8, 2, dtype=torch.bool)
    assert torch.equal(drop_modalities(two, 0.0), two)
    assert torch.equal(torch.rand(1), before)  # the generator was not used


@pytest.mark.parametrize('p', [-0.1, 1.0])
def test_drop_refuses_probabilities_outside_0_1(p):
    with pytest.raises(ValueError, match=r'must be in \[0, 1\)'):
        drop_modalities(torch.ones(2, 2, dtype=torch.bool), p)


def _classifier(**kwargs):
    cfg = dict(type='MultimodalEmotionClassifier', modalities=['audio', 'video'],
               feature_dims=dict(audio=4, video=3),
               encoders=dict(type='MLPFeatureProjector', hidden_dim=8,
                             dropout=0.0),
               neck=dict(type='ConcatFusionNeck', mix=False),
               head=dict(type='LinearClsHead', num_classes=3, dropout=0.0),
               normalize_inputs=False)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_classifier_trains_through_the_dropped_mask():
    """The loss equals a plain model's loss on the same clips with the drawn
    modalities marked missing."""
    model = _classifier(modality_dropout=0.5)
    plain = _classifier()
    plain.load_state_dict(model.state_dict())
    inputs = {'audio': torch.randn(16, 4), 'video': torch.randn(16, 3)}
    samples = [EmotionSample().set_gt_label(i % 3) for i in range(16)]
    torch.manual_seed(5)
    got = float(model.loss(inputs, samples)['loss_cls'])
    torch.manual_seed(5)
    kept = drop_modalities(torch.ones(16, 2, dtype=torch.bool), 0.5)
    assert not bool(kept.all())  # something was dropped in this draw
    feats = plain.extract_feat(inputs, samples, present=kept)
    ref = float(plain.head.loss(feats['fused'], samples)['loss_cls'])
    assert got == pytest.approx(ref, rel=1e-6)
    assert got != pytest.approx(float(plain.loss(inputs, samples)['loss_cls']))
    # prediction sees every modality
    model.eval(), plain.eval()
    a = model.predict(inputs, [EmotionSample() for _ in range(16)])
    b = plain.predict(inputs, [EmotionSample() for _ in range(16)])
    assert torch.allclose(torch.stack([s.pred_score for s in a]),
                          torch.stack([s.pred_score for s in b]))


def test_classifier_refuses_a_bad_modality_dropout():
    with pytest.raises(ValueError, match='modality_dropout must be in'):
        _classifier(modality_dropout=1.0)
