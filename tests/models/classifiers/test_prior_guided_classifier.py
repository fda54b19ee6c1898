"""The stage-2 classifier: freezing, residual start, fallback, prior forms."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper

import mer_toolbox.engine  # noqa: F401  (registers the optimizer constructor)
from mer_toolbox.datasets import DemoMERDataset
from mer_toolbox.datasets.demo import DEMO_FEATURE_DIMS
from mer_toolbox.evaluation.metrics import EmotionMetric
from mer_toolbox.models.classifiers.prior_guided_classifier import \
    PRIOR_BRANCH
from mer_toolbox.fileio.prior_store import load_priors
from mer_toolbox.registry import MODELS

from mer_test_utils import TINY_SIZES

STAGE1 = dict(modalities=['video', 'audio', 'text'],
              feature_dims=DEMO_FEATURE_DIMS,
              encoders=dict(type='MLPFeatureProjector', hidden_dim=16,
                            dropout=0.3),
              neck=dict(type='AttentionFusionNeck', dropout=0.2),
              head=dict(type='LinearClsHead', num_classes=6, dropout=0.3))
PRIOR_DIMS = dict(video=58 + 128, audio=128, text=128)


def make_model(**kwargs):
    cfg = dict(STAGE1, type='PriorGuidedEmotionClassifier',
               prior_dims=PRIOR_DIMS,
               prior_neck=dict(type='PriorGuidedFusionNeck', hidden_dim=16,
                               num_heads=2),
               prior_embedder=dict(type='HashingTextEmbedder', dim=128))
    return MODELS.build(dict(cfg, **kwargs))


@pytest.fixture(scope='module')
def val_set(tiny_demo_root):
    return DemoMERDataset('val', data_root=tiny_demo_root, sizes=TINY_SIZES,
                          with_priors=True)


def fitted(model, dataset):
    model.fit_input_norms({m: dataset.feature_statistics(m)
                           for m in model.modalities})
    return model


def batch(model, dataset, idx, training=False):
    return model.data_preprocessor(
        pseudo_collate([dataset[i] for i in idx]), training=training)


def with_prior_indices(dataset, n):
    """The first ``n`` clips whose teacher call succeeded."""
    idx = [i for i in range(len(dataset))
           if dataset[i]['data_samples'].prior['has_prior']]
    return idx[:n]


def test_trainable_set_is_exactly_the_prior_branch():
    model = make_model()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith(PRIOR_BRANCH) for n in trainable)
    branch = {n for n, _ in model.named_parameters()
              if n.startswith(PRIOR_BRANCH)}
    assert trainable == branch
    model.train()
    for name in ('input_norms', 'encoders', 'neck', 'head'):
        assert not any(m.training for m in
                       getattr(model, name).modules()), name
    assert model.prior_neck.training and model.prior_projs.training
    assert model.uses_priors is True


def test_unknown_freeze_prefix_fails():
    with pytest.raises(ValueError, match='encoderz'):
        make_model(frozen=['encoderz'])


def test_stage2_refuses_mixup():
    # mixing two clips' features would pair them with one clip's prior
    with pytest.raises(ValueError, match='set model.mixup_alpha=0'):
        make_model(mixup_alpha=0.4)


def test_stage2_starts_at_stage1_predictions(val_set):
    model = fitted(make_model(), val_set).eval()
    stage1 = MODELS.build(dict(STAGE1, type='MultimodalEmotionClassifier'))
    stage1.load_state_dict(model.state_dict(), strict=False)
    stage1.eval()
    data = batch(model, val_set, range(16))
    torch.testing.assert_close(model(**data), stage1(**data))


def test_short_training_changes_only_the_prior_branch(val_set):
    torch.manual_seed(0)
    model = fitted(make_model(), val_set)
    frozen = {k: v.clone() for k, v in model.state_dict().items()
              if not k.startswith(PRIOR_BRANCH)}
    branch = {k: v.clone() for k, v in model.state_dict().items()
              if k.startswith(PRIOR_BRANCH)}
    optim = build_optim_wrapper(model, dict(
        constructor='mer_toolbox.TrainableParamsOptimWrapperConstructor',
        optimizer=dict(type='Adam', lr=1e-2, weight_decay=1e-2)))
    in_optim = {id(p) for g in optim.optimizer.param_groups
                for p in g['params']}
    assert in_optim == {id(p) for p in model.parameters() if p.requires_grad}
    model.train()
    for step in range(4):
        data = batch(model, val_set, range(step * 12, step * 12 + 12), True)
        optim.update_params(model(**data, mode='loss')['loss_cls'])
    state = model.state_dict()
    for key, value in frozen.items():
        assert torch.equal(state[key], value), f'{key} changed'
    assert any(not torch.equal(state[k], v) for k, v in branch.items())


def test_paramwise_constructor_also_skips_frozen_params():
    model = make_model()
    optim = build_optim_wrapper(model, dict(
        constructor='mer_toolbox.TrainableParamsOptimWrapperConstructor',
        optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-4),
        paramwise_cfg=dict(norm_decay_mult=0.0)))
    params = [p for g in optim.optimizer.param_groups for p in g['params']]
    assert params and all(p.requires_grad for p in params)
    everything = make_model(frozen=list(PRIOR_BRANCH) + ['encoders', 'neck',
                                                        'head', 'input_norms'])
    with pytest.raises(ValueError, match='frozen'):
        build_optim_wrapper(everything, dict(
            constructor='mer_toolbox.TrainableParamsOptimWrapperConstructor',
            optimizer=dict(type='Adam', lr=1e-3)))


def _with_trained_branch(model):
    torch.manual_seed(1)
    for p in model.prior_neck.out_proj.parameters():
        torch.nn.init.normal_(p)  # so priors really move the logits
    for p in model.prior_default.values():
        torch.nn.init.normal_(p)
    return model.eval()


def test_clips_without_prior_fall_back_and_are_flagged(val_set):
    model = _with_trained_branch(fitted(make_model(), val_set))
    data = batch(model, val_set, with_prior_indices(val_set, 8))
    samples = data['data_samples']
    with_prior = torch.stack([s.pred_score for s in
                              model(**copy.deepcopy(data), mode='predict')])
    # Remove the prior three ways: absent, None, a cache miss.
    del samples[0].prior
    samples[1].prior = None
    samples[2].prior = dict(has_prior=False)
    out = model(**data, mode='predict')
    flags = [s.used_prior_fallback for s in out]
    assert flags == [True] * 3 + [False] * 5
    assert [s.used_prior for s in out] == [not f for f in flags]
    scores = torch.stack([s.pred_score for s in out])
    assert torch.isfinite(scores).all()
    torch.testing.assert_close(scores[3:], with_prior[3:])
    assert not torch.allclose(scores[:3], with_prior[:3])
    metric = EmotionMetric(print_table=False)
    metric.dataset_meta = dict(classes=val_set.classes)
    metric.process({}, [s.to_dict() for s in out])
    assert metric.compute_metrics(metric.results)['prior_fallback_count'] == 3


def test_drop_priors_at_test_uses_the_fallback_for_every_clip(val_set):
    model = _with_trained_branch(fitted(make_model(), val_set))
    data = batch(model, val_set, range(8))
    dropped = copy.deepcopy(data)
    for s in dropped['data_samples']:
        s.prior = dict(has_prior=False)
    reference = torch.stack([s.pred_score for s in
                             model(**dropped, mode='predict')])
    model.drop_priors_at_test = True
    out = model(**data, mode='predict')
    assert all(s.used_prior_fallback for s in out)
    torch.testing.assert_close(torch.stack([s.pred_score for s in out]),
                               reference)


def test_prior_dropout_only_in_training(val_set):
    model = fitted(make_model(prior_dropout=0.5), val_set)
    data = batch(model, val_set, range(40), training=True)
    torch.manual_seed(0)
    model.train()
    used = model.extract_feat(data['inputs'], data['data_samples'])
    assert 5 < int(used['use_prior'].sum()) < 35
    model.eval()
    assert model.extract_feat(data['inputs'],
                              data['data_samples'])['use_prior'].all()


def test_raw_records_match_cached_embeddings(val_set, tiny_demo_root):
    model = _with_trained_branch(fitted(make_model(), val_set))
    data = batch(model, val_set, range(6))
    cached = torch.stack([s.pred_score for s in
                          model(**copy.deepcopy(data), mode='predict')])
    records = load_priors(f'{tiny_demo_root}/priors/demo-teacher.jsonl')
    for s in data['data_samples']:
        s.prior = records[s.name].to_dict()
    raw = torch.stack([s.pred_score for s in model(**data, mode='predict')])
    torch.testing.assert_close(raw, cached)
    no_embedder = make_model(prior_embedder=None).eval()
    with pytest.raises(ValueError, match='prior_embedder'):
        no_embedder.batch_priors(data['data_samples'], 6, torch.device('cpu'))


def test_wrong_prior_size_names_the_clip(val_set):
    model = make_model(prior_dims=dict(PRIOR_DIMS, audio=64))
    data = batch(model, val_set, range(2))
    with pytest.raises(ValueError, match=r"demo_val_00000.*'audio'.*\(64,\)"):
        model.batch_priors(data['data_samples'], 2, torch.device('cpu'))
