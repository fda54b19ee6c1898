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


def test_missing_keys_warning_becomes_one_line_on_what_starts_fresh(
        monkeypatch):
    from mmengine.logging import MMLogger, print_log

    from mer_toolbox.engine.hooks import stage_one_checkpoint_hook as module
    logged, seen = [], []
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    logger = MMLogger.get_instance('stage2_keys_test')

    class Collect:
        level = 0

        def handle(self, record):
            seen.append(record.getMessage())
    monkeypatch.setattr(logger, 'handlers', [Collect()])
    hook = HOOKS.build(dict(type='StageOneCheckpointHook'))
    runner = fake_runner(stage2_model(), has_loaded=True)
    hook.after_load_checkpoint(runner, dict(state_dict=stage1_state()))
    assert 'new in this stage, starting fresh: prior_default (3 tensors)' \
        in logged[-1] and 'prior_neck' in logged[-1]
    assert 'not used here: contrastive_proj' in logged[-1]
    # MMEngine's key-by-key warning right after is dropped, once
    print_log('The model and loaded state dict do not match exactly\n'
              'missing keys in source state_dict: prior_neck.x',
              logger='stage2_keys_test')
    print_log('The model and loaded state dict do not match exactly',
              logger='stage2_keys_test')
    hook.before_train(runner)
    assert [m for m in seen if m.startswith('The model')] == [
        'The model and loaded state dict do not match exactly']
    assert not logger.filters
