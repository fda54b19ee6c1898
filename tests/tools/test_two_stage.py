"""tools/train_two_stage.py end to end on the tiny demo data (fresh processes)."""
import json
import os
import os.path as osp

import pytest
import torch

from mer_test_utils import run_tool, write_tiny_config
from mer_toolbox.models.classifiers.prior_guided_classifier import \
    PRIOR_BRANCH

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def two_stage(tmp_path_factory, tiny_demo_root):
    tmp = tmp_path_factory.mktemp('two_stage')
    stage1 = write_tiny_config(str(tmp / 'stage1.py'), tiny_demo_root)
    stage2 = write_tiny_config(str(tmp / 'stage2.py'), tiny_demo_root,
                               base='prior_stage2.py')
    root = str(tmp / 'work')
    proc = run_tool(['tools/train_two_stage.py', stage1, stage2,
                     '--work-root', root, '--test'])
    return dict(stage1=stage1, stage2=stage2, root=root, tmp=tmp,
                log=proc.stdout + proc.stderr)


def _done(root, stage):
    with open(osp.join(root, stage, 'stage_done.json')) as f:
        return json.load(f)['checkpoint']


def test_stage_two_starts_from_stage_one_and_keeps_it_frozen(two_stage):
    ckpt1, ckpt2 = _done(two_stage['root'], 'stage1'), _done(
        two_stage['root'], 'stage2')
    # stage 1 keeps its final model (no best-by-validation pick)
    assert osp.basename(ckpt1) == 'epoch_2.pth'
    assert not osp.exists(osp.join(two_stage['root'], 'stage1', 'best.pth'))
    log = two_stage['log']
    assert 'StageOneCheckpointHook: all' in log
    # one line on what starts fresh instead of MMEngine's key-by-key list
    assert 'new in this stage, starting fresh: prior_default' in log
    assert 'missing keys in source state_dict' not in log
    assert f'Load checkpoint from {ckpt1}' in two_stage['log']
    s1 = torch.load(ckpt1, weights_only=False)['state_dict']
    s2 = torch.load(ckpt2, weights_only=False)['state_dict']
    frozen = [k for k in s2 if not k.startswith(PRIOR_BRANCH)]
    assert frozen and all(torch.equal(s1[k], s2[k]) for k in frozen)
    assert s2['prior_neck.out_proj.weight'].abs().sum() > 0  # it trained
    with open(osp.join(two_stage['root'], 'stage2', 'test_metrics.json')) as f:
        metrics = json.load(f)['metrics']
    assert 0 < metrics['prior_fallback_count'] < 90  # failed teacher calls


def test_rerun_skips_finished_stages(two_stage):
    proc = run_tool(['tools/train_two_stage.py', two_stage['stage1'],
                     two_stage['stage2'], '--work-root', two_stage['root']])
    log = proc.stdout + proc.stderr
    assert log.count('done before, skipped') == 2
    assert 'Epoch(train)' not in log


def test_interrupted_stage_two_resumes(two_stage, tmp_path):
    os.remove(osp.join(two_stage['root'], 'stage2', 'stage_done.json'))
    proc = run_tool(['tools/train_two_stage.py', two_stage['stage1'],
                     two_stage['stage2'], '--work-root', two_stage['root'],
                     '--stage2-options', 'train_cfg.max_epochs=3'])
    log = proc.stdout + proc.stderr
    assert '[stage 2] resuming' in log and '--resume' in log
    assert 'Epoch(train) [3]' in log or 'Epoch(train)   [3]' in log
    assert 'Epoch(train) [1]' not in log and 'Epoch(train)   [1]' not in log


def _train_in_process(config, work_dir, options):
    from mer_toolbox.engine import build_runner
    from mer_toolbox.engine.setup_env import load_config, register_all_modules
    register_all_modules()
    build_runner(load_config(config, options, work_dir)).train()


def test_missing_and_mismatched_stage_one_checkpoints_fail(two_stage):
    # In process: the errors come from the real Runner's hook calls.
    missing = str(two_stage['tmp'] / 'no_stage1')
    with pytest.raises(FileNotFoundError) as err:
        _train_in_process(two_stage['stage2'], str(two_stage['tmp'] / 'w1'),
                          dict(load_from=missing))
    assert missing in str(err.value)
    assert 'configs/bdcl_stage1.py' in str(err.value)
    with pytest.raises(ValueError, match=r'shape mismatch.*encoders\.'):
        _train_in_process(two_stage['stage2'], str(two_stage['tmp'] / 'w2'), {
            'load_from': _done(two_stage['root'], 'stage1'),
            'model.encoders.hidden_dim': 64})


def test_priors_removed_at_test_time(two_stage):
    work = str(two_stage['tmp'] / 'noprior')
    proc = run_tool(['tools/test.py', two_stage['stage2'],
                     _done(two_stage['root'], 'stage2'), '--work-dir', work,
                     '--cfg-options', 'model.drop_priors_at_test=True'])
    assert 'all 90 clips were predicted without a prior' in proc.stdout
    with open(osp.join(work, 'test_metrics.json')) as f:
        assert json.load(f)['metrics']['prior_fallback_count'] == 90
