"""tools/train.py --seeds: one ordinary run per seed, then mean ± std."""
import csv
import json
import os.path as osp

import numpy as np
import pytest

from mer_test_utils import run_tool, write_tiny_config

pytestmark = pytest.mark.slow


def test_seeds_run_separately_and_are_summarised(tiny_demo_root, tmp_path):
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), tiny_demo_root, max_epochs=1)
    work = str(tmp_path / 'work')
    proc = run_tool(['tools/train.py', cfg, '--work-dir', work, '--seeds', '0', '3'])
    test_waf = []
    for seed in (0, 3):
        run = osp.join(work, f'seed_{seed}')
        with open(osp.join(run, 'cfg.py')) as f:
            assert f'seed={seed}' in f.read()
        with open(osp.join(run, 'test_metrics.json')) as f:
            test_waf.append(json.load(f)['metrics']['waf'])
    assert test_waf[0] != test_waf[1]
    with open(osp.join(work, 'seeds_summary.csv')) as f:
        (row,) = list(csv.DictReader(f))
    assert row['runs'] == '2' and row['seeds'] == '0 3'
    assert float(row['test_waf_mean']) == pytest.approx(np.mean(test_waf))
    assert float(row['test_waf_std']) == pytest.approx(np.std(test_waf, ddof=1))
    assert f'{np.mean(test_waf):.2f} ± {np.std(test_waf, ddof=1):.2f}' in proc.stdout
