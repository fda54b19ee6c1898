"""Per-class tables, scalar logs and multi-run aggregation on synthetic runs."""
import csv
import json
import os

import numpy as np
import pytest

from mer_toolbox.evaluation import EmotionMetric, per_class_markdown
from mer_toolbox.visualization import results
from mer_toolbox.visualization.scalars import best_val_record, load_run_scalars, loss_keys
from mer_toolbox.visualization.tables import per_class_table

CLASSES = ('neutral', 'angry', 'happy', 'sad', 'worried', 'surprise')


def metric_report(tmp_path, seed):
    """A real ``dump_report_json`` file and the in-memory report behind it."""
    rng = np.random.default_rng(seed)
    metric = EmotionMetric(print_table=False)
    metric.dataset_meta = dict(classes=CLASSES)
    gt = rng.integers(0, 6, 50)
    scores = rng.random((50, 6))
    scores[np.arange(50)[:30], gt[:30]] += 2  # 30 sure hits
    results_ = [dict(name=f'c{i}', gt_label=int(g), pred_score=s.astype(np.float32))
                for i, (g, s) in enumerate(zip(gt, scores))]
    metric.compute_metrics(results_)
    path = tmp_path / f'run{seed}.json'
    metric.dump_report_json(str(path))
    return json.loads(path.read_text()), metric.last_report


def test_per_class_table_equals_the_single_run_markdown(tmp_path):
    loaded, report = metric_report(tmp_path, 0)
    table = per_class_table([loaded], ['model'])
    in_memory = dict(accuracy=report['metrics']['accuracy'], per_class=report['per_class'],
                     confusion_matrix=report['confusion_matrix'])
    assert table.to_markdown() == per_class_markdown(in_memory, CLASSES, 'model')


def test_per_class_table_rows_and_csv(tmp_path):
    a, _ = metric_report(tmp_path, 0)
    b, _ = metric_report(tmp_path, 1)
    table = per_class_table([a, b], ['CE', 'CE+BDCL'])
    path = table.write_csv(str(tmp_path / 't.csv'))
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert [r['Method'] for r in rows] == ['CE', 'CE+BDCL']
    for row, rep in zip(rows, (a, b)):
        assert float(row['Avg']) == rep['metrics']['accuracy']
        for c in CLASSES:
            assert float(row[c]) == rep['per_class'][c]['recall']
    b['class_names'] = list(CLASSES[::-1])
    with pytest.raises(ValueError, match='differ'):
        per_class_table([a, b], ['CE', 'x'])


def write_scalars(path, records):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in records)


def val(epoch, waf, acc=50.0):
    return {'emotion/waf': waf, 'emotion/accuracy': acc, 'step': epoch}


def train(it, epoch, **losses):
    return dict(step=it, iter=it, epoch=epoch, lr=1e-3, **losses)


def test_resumed_runs_merge_and_ties_go_to_the_earliest_epoch(tmp_path):
    work = tmp_path / 'run'
    write_scalars(str(work / '20250101_000000' / 'vis_data' / 'scalars.json'),
                  [train(10, 1, loss=2.0, loss_cls=2.0), val(1, 50.0), val(2, 60.0),
                   val(3, 55.0)])
    # Resumed from epoch 2: its epoch 3 replaces the killed run's epoch 3.
    write_scalars(str(work / '20250102_000000' / 'vis_data' / 'scalars.json'),
                  [train(30, 3, loss=1.0, loss_cls=0.8, loss_bdcl_intra=0.2),
                   val(3, 70.0), val(4, 70.0)])
    run = load_run_scalars(str(work))
    assert [r['step'] for r in run.val] == [1, 2, 3, 4]
    assert run.val[2]['emotion/waf'] == 70.0
    assert best_val_record(run.val)['step'] == 3
    assert loss_keys(run.train) == ['loss', 'loss_bdcl_intra', 'loss_cls']


def test_bad_scalar_line_names_file_and_line(tmp_path):
    path = tmp_path / 'scalars.json'
    path.write_text(json.dumps(val(1, 1.0)) + '\n{oops\n')
    with pytest.raises(ValueError, match=r'scalars.json:2'):
        load_run_scalars(str(path))
    with pytest.raises(FileNotFoundError, match='LocalVisBackend'):
        load_run_scalars(str(tmp_path / 'nothing'))


def fake_run(root, name, seed, lr, wafs, test_waf, keep_best=True):
    """A work dir as the Runner and tools/test.py leave it."""
    work = root / name
    cfg = (f"work_dir = {str(work)!r}\nrandomness = dict(seed={seed}, deterministic=False)\n"
           f"optim_wrapper = dict(optimizer=dict(type='Adam', lr={lr}))\n")
    if keep_best:
        cfg += "default_hooks = dict(checkpoint=dict(save_best='emotion/waf'))\n"
    stamp = work / f'2025010{seed}_000000' / 'vis_data'
    write_scalars(str(stamp / 'scalars.json'),
                  [val(e + 1, w, acc=w + 1) for e, w in enumerate(wafs)])
    (stamp / 'config.py').write_text(cfg)
    (work / 'recipe.py').write_text(cfg)
    (work / 'test_metrics.json').write_text(json.dumps(dict(metrics=dict(
        waf=test_waf, accuracy=test_waf + 2, macro_f1=test_waf - 5, uar=test_waf - 4))))
    return str(work)


def test_a_run_without_a_best_checkpoint_is_summarised_at_its_last_epoch(
        tmp_path):
    # its result is the final model, so its best validation epoch says
    # nothing about it
    run = results.summarize_run(fake_run(tmp_path, 'final', 0, 1e-3,
                                         [50, 61, 58], 60.0, keep_best=False))
    assert run.values['epoch'] == 3 and run.values['val_waf'] == 58
    assert run.values['val_accuracy'] == 59.0


def test_group_by_seed_averages_only_runs_that_differ_in_seed(tmp_path):
    dirs = [fake_run(tmp_path, 'a_seed0', 0, 1e-3, [50, 61, 58], 60.0),
            fake_run(tmp_path, 'a_seed1', 1, 1e-3, [55, 57, 66], 63.5),
            fake_run(tmp_path, 'b_seed0', 0, 1e-2, [40, 41, 42], 44.0)]
    runs = [results.summarize_run(d) for d in dirs]
    assert [r.values['epoch'] for r in runs] == [2, 3, 3]
    assert runs[0].values['val_accuracy'] == 62.0  # accuracy of the best epoch
    table = results.grouped_table(runs, results.group_key_by_seed(runs))
    rows = {r[0]: dict(zip(table.columns, r)) for r in table.rows}
    assert set(rows) == {'recipe', 'recipe#2'}  # same file name, other lr
    a = rows['recipe']
    assert a['runs'] == 2 and a['seeds'] == '0 1'
    for key, values in (('val_waf', [61, 66]), ('test_waf', [60.0, 63.5]),
                        ('test_uar', [56.0, 59.5])):
        assert a[f'{key}_mean'] == pytest.approx(np.mean(values))
        assert a[f'{key}_std'] == pytest.approx(np.std(values, ddof=1))
    assert rows['recipe#2']['test_waf_std'] is None  # one run: no spread
    by_name = results.grouped_table(runs, results.group_key_by_regex(r'_seed\d+$'))
    assert [r[:2] for r in by_name.rows] == [['a', 2], ['b', 1]]
    markdown = results.mean_std_markdown(table)
    assert f'{np.mean([60.0, 63.5]):.2f} ± {np.std([60.0, 63.5], ddof=1):.2f}' in markdown
