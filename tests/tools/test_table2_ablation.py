"""tools/analysis/table2_ablation.py: table shape, reuse of finished rows."""
import importlib.util
import json
import os.path as osp

import pytest

from mer_test_utils import REPO


@pytest.fixture(scope='module')
def table2():
    path = osp.join(REPO, 'tools', 'analysis', 'table2_ablation.py')
    spec = importlib.util.spec_from_file_location('table2_ablation', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rows_use_existing_configs(table2):
    for _, config, _, _ in table2.ROWS:
        assert osp.isfile(osp.join(REPO, config)), config


def test_table_has_the_papers_shape(table2):
    metrics = {name: dict(accuracy=50 + i, waf=40 + i)
               for i, (name, *_) in enumerate(table2.ROWS)}
    lines = table2.format_table(metrics).splitlines()
    assert lines[0] == '| A | V | T | Prior | ACC | F1 |'
    assert lines[2] == '| ✓ |  |  |  | 50.00 | 40.00 |'
    assert lines[5] == '| ✓ | ✓ | ✓ |  | 53.00 | 43.00 |'
    assert lines[6] == '| ✓ | ✓ | ✓ | ✓ | 54.00 | 44.00 |'


def test_shorter_schedule_moves_the_cosine_too(table2):
    assert table2._options(3, 10) == ['randomness.seed=3',
                                      'train_cfg.max_epochs=10',
                                      'param_scheduler.0.T_max=10']
    assert table2._options(0, None) == ['randomness.seed=0']


def test_finished_rows_are_not_retrained(table2, tmp_path, monkeypatch):
    (tmp_path / 'test').mkdir()
    with open(tmp_path / 'test' / 'test_metrics.json', 'w') as f:
        json.dump(dict(metrics=dict(accuracy=70.0, waf=69.0)), f)

    def no_call(*args, **kwargs):
        raise AssertionError('a finished row was run again')
    monkeypatch.setattr(table2.subprocess, 'call', no_call)
    assert table2.run_row('cfg.py', str(tmp_path), [])['waf'] == 69.0
