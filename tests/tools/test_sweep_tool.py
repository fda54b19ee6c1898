"""tools/sweep.py as a user runs it: a study that resumes from its SQLite
storage, two workers sharing one study, the best trial as a config."""
import os
import os.path as osp

import pytest
from mmengine.config import Config

from mer_test_utils import run_tool, write_tiny_config

optuna = pytest.importorskip('optuna')
pytestmark = pytest.mark.slow

SPACE = """
search_space = {
    'optim_wrapper.optimizer.lr': dict(type='float', low=1e-4, high=3e-3, log=True),
    'custom_hooks.PseudoLabelHook.class_balanced_ratio': dict(type='float', low=0.3, high=0.9),
}
"""


@pytest.fixture(scope='module')
def config(tmp_path_factory, tiny_demo_root):
    tmp = tmp_path_factory.mktemp('sweep')
    return write_tiny_config(str(tmp / 'sweep_cfg.py'), tiny_demo_root,
                             extra=SPACE, max_epochs=1)


def _study(study_dir):
    return optuna.load_study(study_name='sweep_cfg',
                             storage=f'sqlite:///{study_dir}/study.db')


def _runs(trial_dir):
    """Training runs (timestamped log folders) a trial dir holds."""
    return [d for d in os.listdir(trial_dir) if d[:8].isdigit()]


def test_sweep_resumes_from_its_storage(config, tmp_path):
    study_dir = str(tmp_path / 'study')
    run_tool(['tools/sweep.py', config, '--trials', '2', '--study-dir',
              study_dir, '--seed', '0'])
    first = {t.number: t.params for t in _study(study_dir).trials}
    stamps = {n: _runs(osp.join(study_dir, f'trial_{n}')) for n in first}
    proc = run_tool(['tools/sweep.py', config, '--trials', '3',
                     '--study-dir', study_dir, '--seed', '0'])
    trials = _study(study_dir).trials
    assert [t.state.name for t in trials] == ['COMPLETE'] * 3
    # the two finished trials were kept, not rerun; one new trial ran
    assert {t.number: t.params for t in trials[:2]} == first
    assert {n: _runs(osp.join(study_dir, f'trial_{n}')) for n in first} == stamps
    assert len(_runs(osp.join(study_dir, 'trial_2'))) == 1
    # the best trial as an ordinary config with its values
    best = _study(study_dir).best_trial
    cfg = Config.fromfile(osp.join(study_dir, 'best_config.py'))
    assert 'search_space' not in cfg
    assert cfg.optim_wrapper.optimizer.lr == best.params['optim_wrapper.optimizer.lr']
    hook = next(h for h in cfg.custom_hooks if h.type == 'PseudoLabelHook')
    assert hook.class_balanced_ratio == \
        best.params['custom_hooks.PseudoLabelHook.class_balanced_ratio']
    for png in ('optimization_history.png', 'param_importances.png'):
        with open(osp.join(study_dir, png), 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert f"best emotion/waf {best.value}" in proc.stdout


def test_two_workers_share_one_study_and_run_distinct_trials(config, tmp_path):
    study_dir = str(tmp_path / 'study')
    run_tool(['tools/sweep.py', config, '--trials', '4', '--study-dir',
              study_dir, '--workers', '2', '--seed', '0'])
    trials = _study(study_dir).trials
    finished = [t for t in trials if t.state.name == 'COMPLETE']
    assert len(finished) >= 4  # a worker may finish the trial it had started
    numbers = [t.number for t in trials]
    assert len(set(numbers)) == len(numbers)
    for t in finished:  # every trial trained once, in its own work dir
        assert t.user_attrs['work_dir'] == osp.join(study_dir, f'trial_{t.number}')
        assert len(_runs(t.user_attrs['work_dir'])) == 1
    assert len({t.user_attrs['pid'] for t in finished}) == 2
    assert len({tuple(sorted(t.params.items())) for t in finished}) == len(finished)


def test_search_space_key_that_names_nothing_fails_before_training(
        tiny_demo_root, tmp_path):
    cfg = write_tiny_config(str(tmp_path / 'bad.py'), tiny_demo_root, extra=(
        "search_space = {'model.head.dropuot': dict(type='float', low=0, high=0.5)}"))
    proc = run_tool(['tools/sweep.py', cfg, '--trials', '1', '--study-dir',
                     str(tmp_path / 'study')], check=False)
    assert proc.returncode != 0
    assert "search_space key 'model.head.dropuot' names no config key" in proc.stderr
    assert not osp.exists(tmp_path / 'study' / 'trial_0')
