"""PriorGuidedFusionNeck built from FUSION_NECKS with a plain config works
as a classifier's neck (no priors: e_m = 0, R uniform over present
modalities), and refuses half of the stage-2 inputs."""
import numpy as np
import pytest
import torch

from mer_toolbox.registry import FUSION_NECKS, MODELS
from mer_toolbox.structures import EmotionSample

MODALITIES = ['video', 'audio', 'text']


def test_plain_neck_equals_the_prior_path_with_zero_priors_uniform_r():
    torch.manual_seed(0)
    neck = FUSION_NECKS.build(dict(type='PriorGuidedFusionNeck',
                                   modalities=MODALITIES, in_dim=8,
                                   hidden_dim=8, num_heads=2,
                                   zero_init=False)).eval()
    z = {m: torch.randn(4, 8) for m in MODALITIES}
    present = torch.ones(4, 3, dtype=torch.bool)
    present[1, 2] = False
    plain = neck(z, present)
    reference = neck(z, present,
                     prior_embeds={m: torch.zeros(4, 8) for m in MODALITIES},
                     weights=torch.ones(4, 3))
    torch.testing.assert_close(plain['fused'], reference['fused'])
    # R: uniform over what is present, 0 for the missing text of clip 1
    torch.testing.assert_close(plain['weights'][1],
                               torch.tensor([0.5, 0.5, 0.0]))
    # a masked modality's features do not reach the output
    z2 = dict(z, text=z['text'].clone())
    z2['text'][1] += 100.0
    torch.testing.assert_close(neck(z2, present)['fused'][1],
                               plain['fused'][1])
    with pytest.raises(ValueError, match='got only weights'):
        neck(z, present, weights=torch.ones(4, 3))


def test_classifier_trains_with_it_as_its_neck():
    torch.manual_seed(0)
    dims = dict(video=6, audio=5, text=4)
    model = MODELS.build(dict(
        type='MultimodalEmotionClassifier', modalities=MODALITIES,
        feature_dims=dims,
        encoders=dict(type='MLPFeatureProjector', hidden_dim=8),
        neck=dict(type='PriorGuidedFusionNeck', hidden_dim=8, num_heads=2,
                  zero_init=False),
        head=dict(type='LinearClsHead', num_classes=6)))
    model.fit_input_norms({m: (np.zeros(d), np.ones(d))
                           for m, d in dims.items()})
    inputs = {m: torch.randn(6, d) for m, d in dims.items()}
    samples = [EmotionSample(name=f'c{i}').set_gt_label(i % 6)
               for i in range(6)]
    losses = model.loss(inputs, samples)
    losses['loss_cls'].backward()
    grad = model.neck.token_mlps['audio'][1].weight.grad
    assert grad is not None and float(grad.abs().sum()) > 0
    model.eval()
    predicted = model.predict(inputs, samples)
    assert len(predicted) == 6 and predicted[0].modality_weights.shape == (3,)
