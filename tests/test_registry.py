"""Every registered component builds from a config and runs a forward and a
backward pass (timm-style sweep); typos fail helpfully."""
import pytest
import torch

from mer_toolbox.registry import (DATASETS, ENCODERS, FACE_DETECTORS,
                                  FUSION_NECKS, HEADS, HOOKS, LOSSES, METRICS,
                                  MODELS)
from mer_toolbox.structures import EmotionSample

MODALITIES = ['video', 'audio', 'text']

# One minimal config per registered name, grouped by registry. A component
# registered without an entry here makes test_every_component_has_a_config
# fail, so new plugins cannot dodge the sweep.
CONFIGS = {
    'encoder': {
        'MLPFeatureProjector': dict(in_dim=8, hidden_dim=16),
        'TransformerSequenceEncoder': dict(in_dim=8, hidden_dim=16,
                                           num_heads=2, num_layers=1),
        'PriorProjector': dict(in_dim=8, hidden_dim=16),
    },
    'fusion neck': {
        'AttentionFusionNeck': dict(modalities=MODALITIES, in_dim=16),
        'ConcatFusionNeck': dict(modalities=MODALITIES, in_dim=16),
        'PriorGuidedFusionNeck': dict(modalities=MODALITIES, in_dim=16,
                                      hidden_dim=16, num_heads=2),
    },
    'head': {'LinearClsHead': dict(in_dim=16, num_classes=6)},
    'loss': {
        'CrossEntropyLoss': dict(),
        'LogitAdjustedCrossEntropyLoss': dict(tau=1.0,
                                              class_counts=[5, 4, 3, 2, 2, 1]),
        'BalancedSoftmaxLoss': dict(class_counts=[5, 4, 3, 2, 2, 1]),
        'BalancedDualContrastiveLoss': dict(tau=0.1),
        'UnbalancedDualContrastiveLoss': dict(tau=0.1),
    },
}
REGISTRIES = {'encoder': ENCODERS, 'fusion neck': FUSION_NECKS,
              'head': HEADS, 'loss': LOSSES}
# Components swept by their own test modules (need files / models / data).
SWEPT_ELSEWHERE = {'encoder': ('raw', 'Raw', 'CLIP', 'HF', 'Hf', 'Timm')}


def _registered(registry):
    registry.import_from_location()
    return sorted(registry.module_dict)


@pytest.mark.parametrize('kind', sorted(CONFIGS))
def test_every_component_has_a_config(kind):
    skip = SWEPT_ELSEWHERE.get(kind, ())
    names = [n for n in _registered(REGISTRIES[kind])
             if not any(s in n for s in skip)]
    missing = [n for n in names if n not in CONFIGS[kind]]
    assert not missing, f'add configs for {missing} to the registry sweep'


B, D, H, C = 4, 8, 16, 6


def _readout(out):
    # linear in the output: a zero-initialised output layer (the prior
    # branch's) still gets a gradient, unlike with out.square()
    weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    return (out * weight).sum()


def _run(kind, name, module):
    """One forward pass with inputs of the right shapes; the scalar to
    backpropagate and the input tensors that should receive gradients."""
    gen = torch.Generator().manual_seed(0)
    labels = torch.tensor([0, 1, 0, 1])
    if kind == 'encoder':
        x = torch.randn(B, 3, D, generator=gen, requires_grad=True)
        mask = torch.tensor([[1, 1, 0]] * B, dtype=torch.bool)
        if name == 'PriorProjector':  # one prior vector per clip
            x = torch.randn(B, D, generator=gen, requires_grad=True)
            mask = None
        out = module(x, mask)
        assert out.shape == (B, H)
        return _readout(out), [x]
    if kind == 'fusion neck':
        z = {m: torch.randn(B, H, generator=gen, requires_grad=True)
             for m in MODALITIES}
        present = torch.ones(B, len(MODALITIES), dtype=torch.bool)
        present[0, 2] = False  # a clip without text
        extra = {}
        if name == 'PriorGuidedFusionNeck':
            extra = dict(prior_embeds={m: torch.randn(B, H, generator=gen)
                                       for m in MODALITIES},
                         weights=torch.full((B, len(MODALITIES)), 1 / 3))
        out = module(z, present, None, **extra)
        assert out['fused'].shape[0] == B
        return _readout(out['fused']), list(z.values())
    if kind == 'head':
        fused = torch.randn(B, H, generator=gen, requires_grad=True)
        samples = [EmotionSample().set_gt_label(int(y)) for y in labels]
        assert module(fused).shape == (B, C)
        return module.loss(fused, samples)['loss_cls'], [fused]
    if name.endswith('DualContrastiveLoss'):
        feats = {m: torch.nn.functional.normalize(
            torch.randn(B, H, generator=gen), dim=-1).requires_grad_()
            for m in MODALITIES}
        terms = module(feats, labels)
        return sum(terms.values()), list(feats.values())
    logits = torch.randn(B, C, generator=gen, requires_grad=True)
    return module(logits, labels), [logits]


@pytest.mark.parametrize('kind,name', [(k, n) for k, v in CONFIGS.items()
                                       for n in v])
def test_component_builds_runs_forward_and_backward(kind, name):
    obj = REGISTRIES[kind].build(dict(type=name, **CONFIGS[kind][name]))
    assert isinstance(obj, torch.nn.Module)
    value, inputs = _run(kind, name, obj)
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    for tensor in inputs:
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all()
    params = [p for p in obj.parameters() if p.requires_grad]
    assert all(p.grad is None or torch.isfinite(p.grad).all()
               for p in params)
    if params:  # every trainable component learns from its output
        assert any(p.grad is not None and float(p.grad.abs().sum()) > 0
                   for p in params), f'{name}: no parameter got a gradient'
    else:  # a parameter-free loss must pass gradient to its inputs
        assert any(float(t.grad.abs().sum()) > 0 for t in inputs)


def test_get_keeps_mmengines_contract_and_build_explains():
    assert ENCODERS.get('NoSuchEncoder') is None
    assert 'MLPFeatureProjector' in ENCODERS
    assert 'NoSuchEncoder' not in ENCODERS
    with pytest.raises(KeyError, match='Did you mean: MLPFeatureProjector'):
        ENCODERS.get_or_raise('MLPFeatureProjecter')


@pytest.mark.parametrize('registry,typo,expected', [
    (ENCODERS, 'MLPFeatureProjecter', 'MLPFeatureProjector'),
    (FUSION_NECKS, 'AttentionFusion', 'AttentionFusionNeck'),
    (LOSSES, 'BalancedDualContrastiveLos', 'BalancedDualContrastiveLoss'),
    (MODELS, 'MultimodalEmotionClasifier', 'MultimodalEmotionClassifier'),
    (DATASETS, 'MERFeatureDatset', 'MERFeatureDataset'),
    (METRICS, 'EmotionMetrik', 'EmotionMetric'),
    (HOOKS, 'FeatureNormHok', 'FeatureNormHook'),
    (FACE_DETECTORS, 'dlib_hogg', 'dlib_hog'),
])
def test_unknown_type_names_registry_and_close_names(registry, typo, expected):
    with pytest.raises(KeyError) as err:
        registry.build(dict(type=typo))
    message = str(err.value)
    assert registry.name in message and typo in message
    assert expected in message


def test_nested_typo_reports_the_inner_registry():
    cfg = dict(type='MultimodalEmotionClassifier', modalities=['audio'],
               feature_dims=dict(audio=4),
               encoders=dict(type='MLPProjektor', hidden_dim=8),
               neck=dict(type='AttentionFusionNeck'),
               head=dict(type='LinearClsHead', num_classes=6))
    with pytest.raises(KeyError, match='encoder registry'):
        MODELS.build(cfg)
