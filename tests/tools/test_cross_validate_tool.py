"""tools/cross_validate.py as a user runs it: one process, separate member
jobs + --merge, a kill and a relaunch; the ensemble against the members."""
import csv
import json
import os
import os.path as osp
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from mer_test_utils import REPO, run_tool, write_tiny_config

pytestmark = pytest.mark.slow

KILL_HOOK = '''
import os, signal
from mmengine.hooks import Hook
from mer_toolbox.registry import HOOKS

@HOOKS.register_module()
class KillRunAfterEpochHook(Hook):
    """Kills the whole CV command (process group) once the member named in
    $KILL_MEMBER has saved epoch $KILL_EPOCH: a kill -9 from outside."""
    priority = 'LOWEST'  # after the checkpoint hook

    def after_train_epoch(self, runner):
        member = os.environ.get('KILL_MEMBER')
        if member and os.path.basename(runner.work_dir) == member and \\
                runner.epoch + 1 == int(os.environ['KILL_EPOCH']):
            os.killpg(os.getpgid(0), signal.SIGKILL)
'''


def _cv(cfg, work, *extra, **kw):
    return run_tool(['tools/cross_validate.py', cfg, '--folds', '2',
                     '--work-dir', work, *extra], **kw)


def _read_csv(path):
    with open(path) as f:
        return list(csv.reader(f))


@pytest.fixture(scope='module')
def single(tmp_path_factory, tiny_demo_root):
    """A 2-fold run in one process."""
    tmp = tmp_path_factory.mktemp('cv')
    cfg = write_tiny_config(str(tmp / 'cfg.py'), tiny_demo_root)
    work = str(tmp / 'single')
    proc = _cv(cfg, work)
    return dict(cfg=cfg, work=work, tmp=tmp, log=proc.stdout + proc.stderr)


def test_single_process_run_writes_ensemble_and_table(single):
    work = single['work']
    for name in ('cv_plan.json', 'cv_metrics.json', 'cv_table.md',
                 'predictions_val.csv', 'predictions_test.csv'):
        assert osp.isfile(osp.join(work, name)), name
    assert '| mean ± std |' in single['log'] and 'ensemble' in single['log']
    with open(osp.join(work, 'cv_metrics.json')) as f:
        metrics = json.load(f)
    assert set(metrics['members']) == {'fold_0', 'fold_1'}
    for member in metrics['members'].values():
        assert member['held_out'] is not None and member['epoch'] == 2  # the final model
    rows = _read_csv(osp.join(work, 'predictions_test.csv'))
    assert rows[0][:2] == ['name', 'discrete'] and len(rows) == 91


def test_ensemble_is_the_mean_of_independently_computed_members(single):
    """Each member's result checkpoint, run clip by clip through the public
    inference API, averaged, equals the written ensemble."""
    from mer_toolbox.apis import inference_features, init_model
    from mer_toolbox.registry import DATASETS
    from mer_toolbox.engine.setup_env import register_all_modules
    from mmengine.config import Config
    register_all_modules()
    work = single['work']
    rows = _read_csv(osp.join(work, 'predictions_test.csv'))
    classes, names = rows[0][2:], [r[0] for r in rows[1:]]
    written = np.array([[float(x) for x in r[2:]] for r in rows[1:]])
    members = []
    for member in ('fold_0', 'fold_1'):
        with open(osp.join(work, member, 'stage_done.json')) as f:
            checkpoint = json.load(f)['checkpoint']
        assert osp.basename(checkpoint) == 'epoch_2.pth'  # the final model
        cfg_path = osp.join(work, 'configs', f'{member}.py')
        model = init_model(cfg_path, checkpoint)
        test_set = DATASETS.build(Config.fromfile(cfg_path).test_dataloader.dataset)
        assert test_set.clip_names() == names
        probs = []
        for i in range(len(test_set)):
            scores = inference_features(model, test_set[i]['inputs'])['scores']
            probs.append([scores[c] for c in classes])
        members.append(np.array(probs))
    assert not np.allclose(members[0], members[1], atol=1e-3)  # two models
    np.testing.assert_allclose(written, np.mean(members, axis=0), atol=2e-5)
    expected = [classes[i] for i in np.mean(members, axis=0).argmax(1)]
    assert [r[1] for r in rows[1:]] == expected


def test_member_jobs_then_merge_equal_the_single_process_run(single):
    work = str(single['tmp'] / 'jobs')
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    # two jobs at once, as on two machines sharing the work dir
    jobs = [subprocess.Popen(
        [sys.executable, 'tools/cross_validate.py', single['cfg'], '--folds',
         '2', '--work-dir', work, '--only', f'fold={i}'], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for i in (0, 1)]
    for job in jobs:
        out = job.communicate(timeout=600)[0]
        assert job.returncode == 0, out[-3000:]
        assert 'run --merge' in out or '--merge once' in out
    assert not osp.exists(osp.join(work, 'predictions_test.csv'))
    _cv(single['cfg'], work, '--merge')
    for split in ('val', 'test'):
        assert _read_csv(osp.join(work, f'predictions_{split}.csv')) == \
            _read_csv(osp.join(single['work'], f'predictions_{split}.csv'))


def test_merge_before_members_finish_names_the_missing_member(single, tmp_path):
    work = str(tmp_path / 'cv')
    proc = _cv(single['cfg'], work, '--merge', check=False)
    assert proc.returncode != 0
    assert 'member fold_0 has not finished' in proc.stderr


def test_killed_run_relaunch_skips_finished_folds_and_resumes(
        tiny_demo_root, tmp_path):
    (tmp_path / 'kill_hook.py').write_text(KILL_HOOK)
    extra = ("custom_imports = dict(imports=['kill_hook'], allow_failed_imports=False)\n"
             "custom_hooks = _base_.custom_hooks + [dict(type='KillRunAfterEpochHook')]\n"
             # a resume point every epoch (the default writes one every 5)
             "default_hooks = dict(logger=dict(interval=5), "
             "checkpoint=dict(interval=1))\n")
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), tiny_demo_root,
                            extra=extra, max_epochs=2)
    work = str(tmp_path / 'cv')
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1',
               PYTHONPATH=f'{tmp_path}{os.pathsep}{os.environ.get("PYTHONPATH", "")}',
               KILL_MEMBER='fold_1', KILL_EPOCH='1')
    first = subprocess.run(
        [sys.executable, 'tools/cross_validate.py', cfg, '--folds', '2',
         '--work-dir', work], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=600, start_new_session=True)
    assert first.returncode == -signal.SIGKILL, first.stderr[-3000:]
    fold0 = osp.join(work, 'fold_0')
    assert osp.isfile(osp.join(fold0, 'stage_done.json'))
    assert osp.isfile(osp.join(work, 'fold_1', 'epoch_1.pth'))
    assert not osp.exists(osp.join(work, 'fold_1', 'stage_done.json'))
    before = {f: os.stat(osp.join(fold0, f)).st_mtime_ns for f in os.listdir(fold0)}

    env.pop('KILL_MEMBER')
    second = run_tool(['tools/cross_validate.py', cfg, '--folds', '2',
                       '--work-dir', work], env=env)
    log = second.stdout + second.stderr
    assert '[fold_0] done before, skipped' in log
    after = {f: os.stat(osp.join(fold0, f)).st_mtime_ns for f in os.listdir(fold0)}
    assert after == before  # fold 0: not one file rewritten, no new run
    assert 'resumed epoch: 1' in log
    assert 'Epoch(train) [1]' not in log and 'Epoch(train)   [1]' not in log
    state = torch.load(osp.join(work, 'fold_1', 'epoch_2.pth'), weights_only=False)
    assert state['meta']['epoch'] == 2
    assert osp.isfile(osp.join(work, 'predictions_test.csv'))
