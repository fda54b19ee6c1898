"""tools/analysis/*.py as a user runs them, on two tiny trained seeds."""
import csv
import glob
import json
import os
import os.path as osp
import re

import numpy as np
import pytest
from PIL import Image

from mer_test_utils import run_tool, write_tiny_config

pytestmark = pytest.mark.slow


def shared_dir(tmp_path_factory):
    """A folder all pytest-xdist workers of this session see.

    xdist may hand this module's tests to both workers; each would build the
    module fixture, so the first trains and the other waits and reuses.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'):
        base = base.parent  # <session>/popen-gwN -> <session>
    return base / 'analysis_runs'


@pytest.fixture(scope='module')
def runs(tmp_path_factory, tiny_demo_root):
    """Train ablations/ce_bdcl.py for 2 epochs with seeds 0 and 1, test both."""
    from filelock import FileLock
    tmp = shared_dir(tmp_path_factory)
    works = [str(tmp / f'run_seed{seed}') for seed in (0, 1)]
    cfg = str(tmp / 'cfg.py')
    with FileLock(str(tmp) + '.lock'):
        if not (tmp / 'done').exists():
            tmp.mkdir(exist_ok=True)
            write_tiny_config(cfg, tiny_demo_root, base='ablations/ce_bdcl.py')
            for seed, work in enumerate(works):
                run_tool(['tools/train.py', cfg, '--work-dir', work,
                          '--cfg-options', f'randomness.seed={seed}'])
                run_tool(['tools/test.py', cfg, osp.join(work, 'epoch_2.pth'),
                          '--work-dir', work])
            (tmp / 'done').write_text('trained and tested\n')
    reports = []
    for work in works:
        with open(osp.join(work, 'test_metrics.json')) as f:
            reports.append(json.load(f))
    return dict(cfg=cfg, tmp=tmp, work=works, report=reports,
                ckpt=[osp.join(w, 'epoch_2.pth') for w in works])


def assert_png(path):
    with Image.open(path) as img:
        assert img.format == 'PNG'
        assert img.width > 300 and img.height > 150


def test_tsne_compares_two_checkpoints_with_silhouettes(runs):
    out, scores = str(runs['tmp'] / 'tsne.png'), str(runs['tmp'] / 'tsne.json')
    proc = run_tool(['tools/analysis/tsne.py', runs['cfg'], runs['ckpt'][0],
                     '--compare', runs['cfg'], runs['ckpt'][1], '--labels', 'CE', 'CE+BDCL',
                     '--features', 'fused', 'video', '--max-samples', '60',
                     '--perplexity', '10', '--out', out, '--json', scores])
    assert_png(out)
    with open(scores) as f:
        scores = json.load(f)
    assert sorted(scores) == ['CE [fused]', 'CE [video]', 'CE+BDCL [fused]', 'CE+BDCL [video]']
    for title, s in scores.items():
        assert s['num_samples'] == 60
        assert f'{title}: silhouette 2-D {s["silhouette_2d"]:.4f}' in proc.stdout
    # Original-space silhouette, recomputed here from the same 60 clips.
    from mmengine.config import Config
    from sklearn.metrics import silhouette_score

    from mer_toolbox.visualization.features import (build_split_dataset,
                                                    extract_split_features,
                                                    labelled_indices, load_model)
    cfg = Config.fromfile(runs['cfg'])
    dataset = build_split_dataset(cfg, 'test')
    feats = extract_split_features(load_model(cfg, runs['ckpt'][1]), dataset,
                                   labelled_indices(dataset, 60, seed=0))
    assert scores['CE+BDCL [fused]']['silhouette_orig'] == pytest.approx(
        silhouette_score(feats.features['fused'], feats.labels), abs=1e-5)


def test_confusion_matrix_from_json_and_from_the_model(runs):
    from_json = str(runs['tmp'] / 'cm_json.png')
    run_tool(['tools/analysis/confusion_matrix.py',
              osp.join(runs['work'][0], 'test_metrics.json'), '--out', from_json])
    assert_png(from_json)
    from_model = str(runs['tmp'] / 'cm_model.png')
    proc = run_tool(['tools/analysis/confusion_matrix.py', runs['cfg'], runs['ckpt'][0],
                     '--out', from_model])
    assert_png(from_model)
    report = runs['report'][0]
    # Same checkpoint, same test split: the table printed matches tools/test.py.
    assert re.search(rf'WAF\s+{report["metrics"]["waf"]:.2f}', proc.stdout)
    for name, row in zip(report['class_names'], report['confusion_matrix']):
        assert re.search(rf'{name}\s+' + r'\s+'.join(map(str, row)), proc.stdout)


def test_per_class_table_holds_the_report_numbers(runs):
    md, out_csv = str(runs['tmp'] / 'pc.md'), str(runs['tmp'] / 'pc.csv')
    run_tool(['tools/analysis/per_class_table.py',
              *[osp.join(w, 'test_metrics.json') for w in runs['work']],
              '--names', 'seed0', 'seed1', '--md', md, '--csv', out_csv])
    with open(out_csv) as f:
        rows = list(csv.DictReader(f))
    with open(md) as f:
        lines = f.read().splitlines()
    classes = runs['report'][0]['class_names']
    assert lines[0] == '| Method | Avg | ' + ' | '.join(classes) + ' |'
    for row, line, report in zip(rows, lines[2:], runs['report']):
        expected = [report['metrics']['accuracy']] + [
            report['per_class'][c]['recall'] for c in classes]
        assert [float(row[k]) for k in ['Avg'] + classes] == expected
        cells = [c.strip() for c in line.strip('|').split('|')]
        assert cells[1:] == [f'{v:.2f}' for v in expected]


def val_records(work):
    """Validation lines of the run's only training log, read independently."""
    (log,) = glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
    with open(log) as f:
        return [r for r in map(json.loads, f) if 'emotion/waf' in r]


def test_plot_curves_marks_the_best_epoch(runs):
    out = str(runs['tmp'] / 'curves.png')
    proc = run_tool(['tools/analysis/plot_curves.py', runs['work'][0], '--out', out])
    assert_png(out)
    best = max(val_records(runs['work'][0]), key=lambda r: (r['emotion/waf'], -r['step']))
    assert f'{best["emotion/waf"]:.4f} at epoch {best["step"]}' in proc.stdout


def test_collect_results_lists_runs_and_averages_seeds(runs):
    plain = str(runs['tmp'] / 'all.csv')
    run_tool(['tools/analysis/collect_results.py', *runs['work'], '--csv', plain])
    with open(plain) as f:
        rows = list(csv.DictReader(f))
    assert [(r['run'], r['config'], r['seed']) for r in rows] == [
        ('run_seed0', 'cfg', '0'), ('run_seed1', 'cfg', '1')]
    test_waf = [r['metrics']['waf'] for r in runs['report']]
    assert [float(r['test_waf']) for r in rows] == test_waf

    # --group-regex is covered by tests/visualization; one subprocess here.
    grouped, md = str(runs['tmp'] / 'g.csv'), str(runs['tmp'] / 'g.md')
    run_tool(['tools/analysis/collect_results.py', *runs['work'], '--group-by-seed',
              '--csv', grouped, '--md', md])
    with open(grouped) as f:
        (row,) = list(csv.DictReader(f))
    assert (row['group'], row['runs'], row['seeds']) == ('cfg', '2', '0 1')
    assert float(row['test_waf_mean']) == pytest.approx(np.mean(test_waf))
    assert float(row['test_waf_std']) == pytest.approx(np.std(test_waf, ddof=1))
    # the default recipe's result is its final model: the last epoch's val
    val = [max(val_records(w), key=lambda r: r['step'])['emotion/waf']
           for w in runs['work']]
    assert float(row['val_waf_mean']) == pytest.approx(np.mean(val))
    assert float(row['val_waf_std']) == pytest.approx(np.std(val, ddof=1))
    with open(md) as f:
        assert f'{np.mean(test_waf):.2f} ± {np.std(test_waf, ddof=1):.2f}' in f.read()


def test_teacher_report_student_checkpoint_equals_its_predictions(
        runs, tiny_demo_root):
    from mer_toolbox.datasets.demo_priors import ensure_demo_priors
    store = ensure_demo_priors(tiny_demo_root)[:-len('.emb')]
    labels = osp.join(tiny_demo_root, 'label-test.csv')
    preds = str(runs['tmp'] / 'student_preds.csv')
    run_tool(['tools/test.py', runs['cfg'], runs['ckpt'][0], '--work-dir',
              str(runs['tmp'] / 'student_test'), '--out', preds])
    students = []
    for i, student in enumerate((
            ['--student', preds],
            ['--student', runs['ckpt'][0], '--student-config', runs['cfg']])):
        out = runs['tmp'] / f'teacher_report{i}'
        run_tool(['tools/analysis/teacher_report.py', store, labels, *student,
                  '--out-dir', str(out)])
        assert_png(str(out / 'teacher_report.png'))
        with open(out / 'teacher_report.json') as f:
            students.append(json.load(f)['student'])
    assert students[0] == students[1]
    assert 0 < students[0]['clips'] <= 90
