"""Every registered component builds from a config; typos fail helpfully."""
import pytest
import torch

from mer_toolbox.registry import (DATASETS, ENCODERS, FACE_DETECTORS,
                                  FUSION_NECKS, HEADS, HOOKS, LOSSES, METRICS,
                                  MODELS)

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


@pytest.mark.parametrize('kind,name', [(k, n) for k, v in CONFIGS.items()
                                       for n in v])
def test_component_builds_from_config(kind, name):
    obj = REGISTRIES[kind].build(dict(type=name, **CONFIGS[kind][name]))
    assert isinstance(obj, torch.nn.Module)


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
