"""tools/train.py and tools/test.py as a user runs them (fresh processes)."""
import csv
import json
import os.path as osp
import shutil

import pytest
import torch

from mer_test_utils import run_tool, write_tiny_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def trained(tmp_path_factory, tiny_demo_root):
    """Train 2 epochs once; later tests test and resume from it."""
    tmp = tmp_path_factory.mktemp('train')
    cfg = write_tiny_config(str(tmp / 'cfg.py'), tiny_demo_root)
    work = str(tmp / 'work')
    proc = run_tool(['tools/train.py', cfg, '--work-dir', work])
    return dict(cfg=cfg, work=work, log=proc.stdout + proc.stderr, tmp=tmp)


def test_train_writes_checkpoints_and_logs_metrics(trained):
    assert osp.isfile(osp.join(trained['work'], 'epoch_2.pth'))
    assert 'emotion/waf' in trained['log']
    assert 'loss_cls' in trained['log']
    # after training, the final model (the default's result) is scored on
    # the test split
    assert 'testing the final model' in trained['log']
    assert 'confusion matrix' in trained['log']
    with open(osp.join(trained['work'], 'test_metrics.json')) as f:
        assert json.load(f)['num_labelled'] == 90


def test_console_is_short_and_quiet_and_the_log_file_keeps_it_all(trained):
    log = trained['log']
    before_training = log.split('Epoch(train)')[0]
    assert len(before_training.splitlines()) < 15  # MMEngine prints ~270
    for noise in ('System environment', 'Config:', 'Hooks will be executed',
                  'Failed to search registry', '"FileClient" will be',
                  '"HardDiskBackend"', 'Loads checkpoint by'):
        assert noise not in log, noise
    log_file = log.split('environment, config and hook order: ')[1].split(
        '\n')[0].strip()
    with open(log_file, encoding='utf-8') as f:
        full = f.read()
    for kept in ('System environment', 'Config:', 'Hooks will be executed'):
        assert kept in full, kept


def test_test_tool_reports_metrics_and_writes_submission(trained):
    out = osp.join(trained['tmp'], 'pred.csv')
    # the config's work dir is the training run's: 'last' is its final
    # checkpoint, and the metrics go to their own folder, not over
    # training's file
    cfg = write_tiny_config(
        str(trained['tmp'] / 'cfg_test.py'), _data_root(trained['cfg']),
        extra=f"work_dir = {trained['work']!r}")
    training_metrics = osp.join(trained['work'], 'test_metrics.json')
    before = open(training_metrics).read()
    proc = run_tool(['tools/test.py', cfg, 'last', '--out', out])
    log = proc.stdout + proc.stderr
    assert 'confusion matrix' in log
    assert f"testing {osp.join(trained['work'], 'epoch_2.pth')}" in log
    assert open(training_metrics).read() == before
    with open(osp.join(trained['work'], 'test', 'test_metrics.json')) as f:
        report = json.load(f)
    assert 0 <= report['metrics']['waf'] <= 100
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 90 and rows[0]['name'].startswith('demo_test_')
    assert rows[0]['discrete'] in ('neutral', 'angry', 'happy', 'sad',
                                   'worried', 'surprise')
    assert abs(sum(float(rows[0][c]) for c in list(rows[0])[2:]) - 1) < 1e-4


def test_resume_continues_from_the_last_epoch(trained, tmp_path):
    # Same work dir, one more epoch: --resume must pick up epoch_2.pth and
    # train only epoch 3, with the fitted input statistics restored.
    work = str(tmp_path / 'work')
    shutil.copytree(trained['work'], work)
    cfg = write_tiny_config(str(tmp_path / 'cfg3.py'),
                            _data_root(trained['cfg']), max_epochs=3)
    proc = run_tool(['tools/train.py', cfg, '--work-dir', work, '--resume'])
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 2' in log
    assert 'Epoch(train)   [1]' not in log and 'Epoch(train) [1]' not in log
    assert 'Epoch(train) [3]' in log or 'Epoch(train)   [3]' in log
    assert 'FeatureNormHook: fitted' not in log  # statistics came back
    state = torch.load(osp.join(work, 'epoch_3.pth'),
                       weights_only=False)
    assert state['meta']['epoch'] == 3


def _data_root(cfg_path):
    with open(cfg_path) as f:
        for line in f:
            if line.startswith('val_dataloader'):
                return line.split("data_root=")[1].split(',')[0].strip("'\"")
    raise AssertionError('no data_root in the tiny config')


def test_checkpoint_that_does_not_fit_the_model(trained, tmp_path):
    cfg = write_tiny_config(str(tmp_path / 'wide.py'), _data_root(
        trained['cfg']), extra="model = dict(encoders=dict(hidden_dim=64))")
    proc = run_tool(['tools/test.py', cfg,
                     osp.join(trained['work'], 'epoch_2.pth'), '--work-dir',
                     str(tmp_path / 'w')], check=False)
    assert proc.returncode != 0
    assert 'size mismatch' in proc.stderr or 'shape' in proc.stderr


def test_missing_checkpoint_is_a_clear_error(trained, tmp_path):
    proc = run_tool(['tools/test.py', trained['cfg'],
                     str(tmp_path / 'nope.pth')], check=False)
    assert proc.returncode != 0 and 'nope.pth' in proc.stderr
    assert 'does not exist' in proc.stderr


def test_misspelt_top_level_key_is_an_error(tmp_path, tiny_demo_root):
    cfg = write_tiny_config(str(tmp_path / 'typo.py'), tiny_demo_root,
                            extra='trian_cfg = dict(max_epochs=1)')
    proc = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')],
                    check=False)
    assert proc.returncode != 0
    assert "'trian_cfg'" in proc.stderr and "'train_cfg'" in proc.stderr


def test_teacher_key_never_reaches_training_artifacts(tmp_path,
                                                      tiny_demo_root):
    canary = 'AIzaCANARY-key-0123456789abcdef'
    cfg = write_tiny_config(str(tmp_path / 'c.py'), tiny_demo_root,
                            max_epochs=1)
    work = tmp_path / 'w'
    proc = run_tool(['tools/train.py', cfg, '--work-dir', str(work)],
                    env=dict(GEMINI_API_KEY=canary, GOOGLE_API_KEY=canary))
    assert canary not in proc.stdout + proc.stderr
    files = [p for p in work.rglob('*') if p.is_file()]
    assert any(p.suffix == '.pth' for p in files)
    for path in files:  # logs, dumped config, scalars, checkpoints, metrics
        assert canary.encode() not in path.read_bytes(), path
