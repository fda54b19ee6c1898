"""The classifier end to end on real dataset items, for modality subsets."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from mer_toolbox.datasets import DemoMERDataset
from mer_toolbox.datasets.demo import DEMO_FEATURE_DIMS
from mer_toolbox.registry import MODELS

from mer_test_utils import TINY_SIZES


def make_model(modalities, encoder=None, neck='AttentionFusionNeck',
               aux=True, normalize=True):
    return MODELS.build(dict(
        type='MultimodalEmotionClassifier', modalities=modalities,
        feature_dims=DEMO_FEATURE_DIMS,
        encoders=encoder or dict(type='MLPFeatureProjector', hidden_dim=16),
        neck=dict(type=neck), head=dict(type='LinearClsHead', num_classes=6),
        aux_losses=[dict(type='BalancedDualContrastiveLoss')] if aux else [],
        contrastive_dim=8 if aux else None, normalize_inputs=normalize))


def batch_of(dataset, n=12):
    return pseudo_collate([dataset[i] for i in range(n)])


def fit_norms(model, dataset):
    model.fit_input_norms({m: dataset.feature_statistics(m)
                           for m in model.modalities})


@pytest.mark.parametrize('modalities', [['audio'], ['video', 'text'],
                                        ['video', 'audio', 'text']])
@pytest.mark.parametrize('neck', ['AttentionFusionNeck', 'ConcatFusionNeck'])
def test_loss_and_predict_for_modality_subsets(tiny_demo_root, modalities,
                                               neck):
    ds = DemoMERDataset('train', data_root=tiny_demo_root, sizes=TINY_SIZES)
    model = make_model(modalities, neck=neck)
    fit_norms(model, ds)
    data = model.data_preprocessor(batch_of(ds), training=True)
    losses = model(**data, mode='loss')
    assert 'loss_cls' in losses and 'loss_bdcl_intra' in losses
    assert ('loss_bdcl_inter' in losses) == (len(modalities) > 1)
    total = sum(losses.values())
    total.backward()
    for name, p in model.named_parameters():
        if p.requires_grad and 'contrastive_proj' not in name:
            assert p.grad is not None, f'no gradient reached {name}'
    model.eval()
    samples = model(**model.data_preprocessor(batch_of(ds)), mode='predict')
    scores = torch.stack([s.pred_score for s in samples])
    torch.testing.assert_close(scores.sum(1), torch.ones(len(samples)))
    if neck == 'AttentionFusionNeck':
        w = torch.stack([s.modality_weights for s in samples])
        assert w.shape == (len(samples), len(modalities))


def test_frame_level_features_with_sequence_encoder(tmp_path):
    sizes = dict(train=40, val=8, test=8, pool=8)
    ds = DemoMERDataset('train', data_root=str(tmp_path / 'f'), sizes=sizes,
                        frame_level=True)
    model = make_model(['video', 'audio'], encoder=dict(
        type='TransformerSequenceEncoder', hidden_dim=16, num_heads=2,
        num_layers=1))
    fit_norms(model, ds)
    data = model.data_preprocessor(batch_of(ds, 6), training=True)
    assert data['inputs']['video'].dim() == 3
    model.eval()
    # Padding must not change a clip's prediction: clip 0 alone vs batched.
    alone = model(**model.data_preprocessor(batch_of(ds, 1)), mode='tensor')
    batched = model(**data, mode='tensor')
    torch.testing.assert_close(alone[0], batched[0], atol=1e-5, rtol=1e-4)


def test_masked_modality_gets_zero_fusion_weight(tiny_demo_root):
    ds = DemoMERDataset('val', data_root=tiny_demo_root, sizes=TINY_SIZES)
    model = make_model(['video', 'audio', 'text']).eval()
    fit_norms(model, ds)
    batch = batch_of(ds, 4)
    batch['data_samples'][0].modality_present = dict(video=True, audio=False,
                                                     text=True)
    out = model(**model.data_preprocessor(batch), mode='predict')
    assert out[0].modality_weights[1] == 0
    torch.testing.assert_close(out[0].modality_weights.sum(), torch.tensor(1.))


def test_unfitted_normalisation_is_an_error(tiny_demo_root):
    ds = DemoMERDataset('val', data_root=tiny_demo_root, sizes=TINY_SIZES)
    model = make_model(['audio'])
    with pytest.raises(RuntimeError, match='FeatureNormHook'):
        model(**model.data_preprocessor(batch_of(ds, 2)), mode='loss')


def test_model_modality_missing_from_batch(tiny_demo_root):
    ds = DemoMERDataset('val', data_root=tiny_demo_root, sizes=TINY_SIZES,
                        modalities=['video'])
    model = make_model(['video', 'audio'], normalize=False)
    with pytest.raises(KeyError, match=r"modalities \['audio'\]"):
        model(**model.data_preprocessor(batch_of(ds, 2)), mode='loss')


def test_standardiser_makes_inputs_zero_mean(tiny_demo_root):
    ds = DemoMERDataset('train', data_root=tiny_demo_root, sizes=TINY_SIZES)
    model = make_model(['audio'])
    fit_norms(model, ds)
    x = torch.stack([ds[i]['inputs']['audio'] for i in range(len(ds))])
    z = model.input_norms['audio'](x)
    assert z.mean(0).abs().max() < 1e-3
    np.testing.assert_allclose(z.std(0, unbiased=False).numpy(), 1, atol=1e-3)


def test_plain_concatenation_keeps_each_modality_block():
    """ConcatFusionNeck(mix=False): the fused vector is the embeddings side
    by side, a masked modality's block exactly zero."""
    from mer_toolbox.registry import FUSION_NECKS
    neck = FUSION_NECKS.build(dict(type='ConcatFusionNeck', mix=False,
                                   modalities=['video', 'audio'], in_dim=4))
    assert neck.out_dim == 8
    z = dict(video=torch.randn(3, 4), audio=torch.randn(3, 4))
    present = torch.tensor([[True, True], [True, False], [False, True]])
    fused = neck(z, present)['fused']  # (3, 8)
    torch.testing.assert_close(fused[0], torch.cat([z['video'][0],
                                                    z['audio'][0]]))
    assert (fused[1, 4:] == 0).all() and (fused[2, :4] == 0).all()
    with pytest.raises(ValueError, match='out_dim applies only'):
        FUSION_NECKS.build(dict(type='ConcatFusionNeck', mix=False,
                                out_dim=5, modalities=['video'], in_dim=4))


def test_aux_losses_with_colliding_keys_are_an_error():
    model = MODELS.build(dict(
        type='MultimodalEmotionClassifier', modalities=['video', 'audio'],
        feature_dims=DEMO_FEATURE_DIMS,
        encoders=dict(type='MLPFeatureProjector', hidden_dim=16),
        neck=dict(type='AttentionFusionNeck'),
        head=dict(type='LinearClsHead', num_classes=6),
        aux_losses=[dict(type='BalancedDualContrastiveLoss'),
                    dict(type='BalancedDualContrastiveLoss', tau=0.5)],
        contrastive_dim=8, normalize_inputs=False))
    from mer_toolbox.structures import EmotionSample
    inputs = {m: torch.randn(4, DEMO_FEATURE_DIMS[m])
              for m in ('video', 'audio')}
    samples = [EmotionSample().set_gt_label(i % 2) for i in range(4)]
    # both log loss_bdcl_*: one would silently replace the other
    with pytest.raises(KeyError, match=r"\['loss_bdcl_inter', "
                       r"'loss_bdcl_intra'\].*loss_prefix"):
        model.loss(inputs, samples)
    model.aux_losses[1].loss_prefix = 'loss_bdcl_tau05'
    losses = model.loss(inputs, samples)
    assert {'loss_bdcl_intra', 'loss_bdcl_tau05_intra'} <= set(losses)
