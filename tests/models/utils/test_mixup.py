"""Multimodal mixup: the mixed batch, the mixed loss, and where it refuses."""
import pytest
import torch
import torch.nn.functional as F

from mer_toolbox.models.utils.mixup import mix_modalities
from mer_toolbox.registry import HEADS, MODELS
from mer_toolbox.structures import EmotionSample


def test_mix_matches_the_formula_with_the_drawn_weight_and_partner():
    x = {'audio': torch.randn(6, 4), 'video': torch.randn(6, 3)}
    present = torch.ones(6, 2, dtype=torch.bool)
    present[1, 0] = False  # clip 1 has no audio
    torch.manual_seed(3)
    mixed, mask, perm, lam = mix_modalities(x, present, alpha=0.4)
    torch.manual_seed(3)  # the same draws, made independently
    lam_ref = float(torch.distributions.Beta(0.4, 0.4).sample())
    perm_ref = torch.randperm(6)
    assert lam == pytest.approx(lam_ref) and torch.equal(perm, perm_ref)
    assert 0.0 < lam < 1.0
    for i in range(6):
        p = int(perm[i])
        assert torch.allclose(mixed['video'][i],
                              lam * x['video'][i] + (1 - lam) * x['video'][p])
        if 1 in (i, p) and i != p:  # one side lacks audio: the other's, unmixed
            src = p if i == 1 else i
            assert torch.equal(mixed['audio'][i], x['audio'][src])
            assert bool(mask[i, 0])
        elif i != 1:
            assert torch.allclose(
                mixed['audio'][i],
                lam * x['audio'][i] + (1 - lam) * x['audio'][p])
    assert torch.equal(mask, present | present[perm])


def test_mix_refuses_frame_level_features_and_bad_alpha():
    present = torch.ones(2, 1, dtype=torch.bool)
    with pytest.raises(ValueError, match=r"\['video'\] are frame-level"):
        mix_modalities({'video': torch.randn(2, 5, 3)}, present, 0.4)
    with pytest.raises(ValueError, match='alpha must be > 0'):
        mix_modalities({'video': torch.randn(2, 3)}, present, 0.0)


def test_head_mixed_loss_is_the_weighted_pair_of_label_losses():
    head = HEADS.build(dict(type='LinearClsHead', in_dim=5, num_classes=3))
    fused = torch.randn(4, 5)
    samples = [EmotionSample().set_gt_label(c) for c in (0, 1, 2, 1)]
    perm, lam = torch.tensor([2, 0, 3, 1]), 0.3
    got = head.loss(fused, samples, mix=(perm, lam))['loss_cls']
    logits = head(fused)
    y = torch.tensor([0, 1, 2, 1])
    ref = lam * F.cross_entropy(logits, y) + (1 - lam) * F.cross_entropy(
        logits, y[perm])
    assert float(got.detach()) == pytest.approx(float(ref.detach()), rel=1e-6)


def _classifier(**kwargs):
    cfg = dict(type='MultimodalEmotionClassifier', modalities=['audio'],
               feature_dims=dict(audio=4),
               encoders=dict(type='MLPFeatureProjector', hidden_dim=8),
               neck=dict(type='ConcatFusionNeck', mix=False),
               head=dict(type='LinearClsHead', num_classes=3),
               normalize_inputs=False)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_classifier_trains_on_mixed_clips_reproducibly():
    model = _classifier(mixup_alpha=0.4)
    inputs = {'audio': torch.randn(8, 4)}
    samples = [EmotionSample().set_gt_label(i % 3) for i in range(8)]
    losses = []
    for _ in range(2):
        torch.manual_seed(0)
        losses.append(float(model.loss(inputs, samples)['loss_cls']))
    assert losses[0] == pytest.approx(losses[1])
    plain = _classifier(mixup_alpha=0.0)
    plain.load_state_dict(model.state_dict())
    model.eval(), plain.eval()  # no dropout: only the mixing differs
    torch.manual_seed(0)
    assert float(model.loss(inputs, samples)['loss_cls']) != pytest.approx(
        float(plain.loss(inputs, samples)['loss_cls']))


def test_classifier_refuses_mixup_with_contrastive_losses_or_negative():
    with pytest.raises(ValueError, match='cannot be combined with aux_losses'):
        _classifier(mixup_alpha=0.4, contrastive_dim=4,
                    aux_losses=[dict(type='BalancedDualContrastiveLoss')])
    with pytest.raises(ValueError, match='mixup_alpha must be >= 0'):
        _classifier(mixup_alpha=-1.0)
