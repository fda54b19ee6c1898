"""Stage 2's load_from: resolution, missing file, mismatched checkpoint."""
import os
import types

import pytest
import torch

from mer_toolbox.datasets.demo import DEMO_FEATURE_DIMS
from mer_toolbox.engine import resolve_checkpoint
from mer_toolbox.registry import HOOKS, MODELS

STAGE1 = dict(modalities=['video', 'audio', 'text'],
              feature_dims=DEMO_FEATURE_DIMS,
              encoders=dict(type='MLPFeatureProjector', hidden_dim=16),
              neck=dict(type='AttentionFusionNeck'),
              head=dict(type='LinearClsHead', num_classes=6))


def stage2_model(**stage1):
    return MODELS.build(dict(
        STAGE1, **stage1, type='PriorGuidedEmotionClassifier',
        prior_dims=dict(video=20, audio=8, text=8),
        prior_neck=dict(type='PriorGuidedFusionNeck', hidden_dim=16,
                        num_heads=2)))


def stage1_state(**changes):
    cfg = dict(STAGE1, type='MultimodalEmotionClassifier',
               aux_losses=[dict(type='BalancedDualContrastiveLoss')],
               contrastive_dim=8)
    return MODELS.build(dict(cfg, **changes)).state_dict()


def fake_runner(model, load_from=None, has_loaded=False):
    return types.SimpleNamespace(model=model, _load_from=load_from,
                                 _resume=False, _has_loaded=has_loaded,
                                 work_dir='work_dirs/x')


def touch(path, mtime=None):
    with open(path, 'wb') as f:
        f.write(b'x')
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return str(path)


def test_resolve_file_and_work_dir(tmp_path):
    assert resolve_checkpoint(touch(tmp_path / 'a.pth')) == str(
        tmp_path / 'a.pth')
    work = tmp_path / 'work'
    work.mkdir()
    last = touch(work / 'epoch_3.pth')
    (work / 'last_checkpoint').write_text(last)
    assert resolve_checkpoint(str(work)) == last
    touch(work / 'best_emotion_waf_epoch_1.pth', mtime=1000)
    newest = touch(work / 'best_emotion_waf_epoch_2.pth', mtime=2000)
    assert resolve_checkpoint(str(work)) == newest


def test_missing_checkpoint_names_path_and_stage_one(tmp_path):
    missing = str(tmp_path / 'nope' / 'best.pth')
    with pytest.raises(FileNotFoundError) as err:
        resolve_checkpoint(missing)
    assert missing in str(err.value)
    assert 'tools/train.py configs/bdcl_stage1.py' in str(err.value)
    with pytest.raises(FileNotFoundError, match='holds no checkpoint'):
        resolve_checkpoint(str(tmp_path))
    hook = HOOKS.build(dict(type='StageOneCheckpointHook'))
    with pytest.raises(FileNotFoundError, match='bdcl_stage1'):
        hook.before_run(fake_runner(stage2_model(), load_from=missing))


def test_hook_resolves_a_work_dir_to_its_best_checkpoint(tmp_path):
    best = touch(tmp_path / 'best_emotion_waf_epoch_4.pth')
    runner = fake_runner(stage2_model(), load_from=str(tmp_path))
    HOOKS.build(dict(type='StageOneCheckpointHook')).before_run(runner)
    assert runner._load_from == best


def test_matching_stage_one_checkpoint_passes():
    hook = HOOKS.build(dict(type='StageOneCheckpointHook'))
    state = {f'module.{k}': v for k, v in stage1_state().items()}
    hook.after_load_checkpoint(fake_runner(stage2_model()),
                               dict(state_dict=state))


def test_mismatched_checkpoint_lists_keys_and_shapes():
    hook = HOOKS.build(dict(type='StageOneCheckpointHook'))
    wide = stage1_state(encoders=dict(type='MLPFeatureProjector',
                                      hidden_dim=32))
    with pytest.raises(ValueError) as err:
        hook.after_load_checkpoint(fake_runner(stage2_model()),
                                   dict(state_dict=wide))
    assert 'encoders.video.mlp.0.weight: checkpoint (32, 64) vs model ' \
           '(16, 64)' in str(err.value)
    partial = {k: v for k, v in stage1_state().items()
               if not k.startswith('head.')}
    with pytest.raises(ValueError, match=r"missing \(2\).*head\.fc\.weight"):
        hook.after_load_checkpoint(fake_runner(stage2_model()),
                                   dict(state_dict=partial))


def test_training_without_any_weights_is_an_error():
    hook = HOOKS.build(dict(type='StageOneCheckpointHook'))
    with pytest.raises(RuntimeError, match='without stage-1 weights'):
        hook.before_train(fake_runner(stage2_model()))
    hook.before_train(fake_runner(stage2_model(), has_loaded=True))
    lenient = HOOKS.build(dict(type='StageOneCheckpointHook', require=False))
    lenient.before_train(fake_runner(stage2_model()))


def test_required_keys_exclude_only_the_prior_branch():
    model = stage2_model()
    keys = model.checkpoint_required_keys()
    assert not any(k.startswith('prior_') for k in keys)
    assert set(keys) == {k for k in stage1_state()
                         if not k.startswith('contrastive_proj')}
    assert keys['input_norms.video.mean'] == (DEMO_FEATURE_DIMS['video'],)
    assert isinstance(model.state_dict()['prior_default.video'],
                      torch.Tensor)


def test_new_branch_keeps_its_init_and_one_line_says_so(monkeypatch):
    from mer_toolbox.engine.hooks import stage_one_checkpoint_hook as module
    logged = []
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    model = stage2_model()
    init = {k: v.clone() for k, v in model.state_dict().items()}
    stage1 = stage1_state()
    checkpoint = dict(state_dict={f'module.{k}': v
                                  for k, v in stage1.items()})
    HOOKS.build(dict(type='StageOneCheckpointHook')).after_load_checkpoint(
        fake_runner(model), checkpoint)
    assert 'new in this stage, starting fresh: prior_default (3 tensors)' \
        in logged[-1] and 'prior_neck' in logged[-1]
    assert 'not used here: contrastive_proj' in logged[-1]
    # what MMEngine loads next fits exactly: no key-by-key warning to print
    result = model.load_state_dict(checkpoint['state_dict'], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert torch.equal(model.state_dict()['prior_neck.pos_embed'],
                       init['prior_neck.pos_embed'])
    assert torch.equal(model.state_dict()['head.fc.weight'],
                       stage1['head.fc.weight'])
