"""Teacher report: numbers against sklearn, and the tool on the demo teacher."""
import json
import os.path as osp

import numpy as np
import pytest
from prior_testutils import REPO, run_module
from sklearn.metrics import (accuracy_score, balanced_accuracy_score,
                             cohen_kappa_score, f1_score, recall_score)

from mer_toolbox.constants import MER2024_CLASSES as CLASSES
from mer_toolbox.fileio.prior_record import PriorRecord
from mer_toolbox.priors.teacher_report import (expected_calibration_error,
                                               teacher_report)

TOOL = osp.join(REPO, 'tools', 'analysis', 'teacher_report.py')


def _records(n=300, seed=0):
    """Random labels, a teacher right ~60 %, failures, refusals, a student."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, len(CLASSES), n)
    guess = np.where(rng.random(n) < 0.6, truth,
                     rng.integers(0, len(CLASSES), n))
    student = np.where(rng.random(n) < 0.7, truth,
                       rng.integers(0, len(CLASSES), n))
    records, labels = {}, {}
    for i in range(n):
        name = f'clip{i:04d}'
        labels[name] = int(truth[i])
        if i % 17 == 0:
            continue  # no record at all
        if i % 11 == 0:
            records[name] = PriorRecord.failure(
                name, 't', 'v', 'refused' if i % 2 else 'timeout', 'x')
            continue
        scores = {c: float(rng.random()) for c in CLASSES}
        weights = rng.dirichlet(np.ones(3))
        records[name] = PriorRecord(
            name=name, teacher='t', prompt_version='v',
            label=CLASSES[guess[i]], scores=scores,
            contributions=dict(zip(('video', 'audio', 'text'),
                                   weights.tolist())),
            prompt_variant='refusal-retry-v1' if i % 23 == 0 else None)
    return records, labels, {f'clip{i:04d}': int(s)
                             for i, s in enumerate(student)}


def test_numbers_equal_sklearn():
    records, labels, student = _records()
    report = teacher_report(records, labels, CLASSES, student)
    ok = sorted(n for n in labels if n in records and records[n].ok)
    y = [labels[n] for n in ok]
    p = [CLASSES.index(records[n].label) for n in ok]
    s = [student[n] for n in ok]
    z = report['zero_shot']
    assert z['accuracy'] == pytest.approx(accuracy_score(y, p))
    assert z['waf'] == pytest.approx(f1_score(y, p, average='weighted'))
    assert z['macro_f1'] == pytest.approx(f1_score(y, p, average='macro'))
    assert z['uar'] == pytest.approx(balanced_accuracy_score(y, p))
    recall = recall_score(y, p, average=None, labels=range(len(CLASSES)))
    assert [z['per_class'][c]['recall'] for c in CLASSES] == \
        pytest.approx(recall.tolist())
    assert z['accuracy_all_clips'] == pytest.approx(
        accuracy_score(y, p) * len(ok) / len(labels))
    cov = report['coverage']
    assert (cov['ok'], cov['labelled']) == (len(ok), 300)
    assert cov['missing'] == sum(1 for i in range(300) if i % 17 == 0)
    assert report['failures']['missing']['count'] == cov['missing']
    assert sum(v['count'] for v in report['failures'].values()) == \
        cov['failed'] + cov['missing']
    assert report['prompt_variants'] == {'refusal-retry-v1': sum(
        1 for n in ok if records[n].prompt_variant)}
    st = report['student']
    assert st['agreement'] == pytest.approx(accuracy_score(p, s))
    assert st['cohen_kappa'] == pytest.approx(cohen_kappa_score(s, p))
    assert st['student_accuracy'] == pytest.approx(accuracy_score(y, s))
    agree = [i for i in range(len(ok)) if p[i] == s[i]]
    assert st['agreed_accuracy'] == pytest.approx(
        accuracy_score([y[i] for i in agree], [s[i] for i in agree]))
    happy = [records[n].contributions['audio'] for n in ok
             if labels[n] == CLASSES.index('happy')]
    assert report['contributions']['happy']['audio'] == pytest.approx(
        np.mean(happy))


def test_ece_against_a_loop():
    rng = np.random.default_rng(1)
    conf = rng.random(500)
    correct = rng.random(500) < conf
    conf[:3] = [0.0, 1.0, 0.1]  # edges: 1.0 goes to the last bin
    expected = 0.0
    for b in range(10):
        members = [i for i in range(500)
                   if b / 10 <= conf[i] < (b + 1) / 10
                   or (b == 9 and conf[i] == 1.0)]
        if members:
            expected += len(members) / 500 * abs(
                np.mean(correct[members]) - np.mean(conf[members]))
    result = expected_calibration_error(conf, correct, 10)
    assert result['ece'] == pytest.approx(expected)
    assert sum(b['count'] for b in result['bins']) == 500
    # A teacher whose confidence is its accuracy is calibrated.
    assert expected_calibration_error(np.full(10, 0.7),
                                      np.arange(10) < 7)['ece'] < 1e-9


def test_tool_on_the_demo_teacher(tiny_demo_root, tmp_path, capsys):
    from mer_toolbox.datasets.demo_priors import ensure_demo_priors
    store = ensure_demo_priors(tiny_demo_root)[:-len('.emb')]
    labels = [osp.join(tiny_demo_root, f'label-{s}.csv')
              for s in ('train', 'val', 'test')]
    student = tmp_path / 'pred.csv'
    with open(labels[2], encoding='utf-8') as f:  # a "student": the truth
        student.write_text(f.read(), encoding='utf-8')
    run_module(TOOL, [store, *labels, '--student', str(student),
                      '--out-dir', str(tmp_path / 'out')])
    out = capsys.readouterr().out
    assert '# Teacher report: simulated-gemini / demo-v1' in out
    report = json.loads((tmp_path / 'out' / 'teacher_report.json').read_text())
    assert 0.5 < report['zero_shot']['accuracy'] < 0.95
    assert report['student']['student_accuracy'] == 1.0
    assert report['student']['agreement'] == pytest.approx(
        report['student']['teacher_accuracy'])
    from PIL import Image
    with Image.open(tmp_path / 'out' / 'teacher_report.png') as png:
        assert png.size[0] > 500
    with pytest.raises(ValueError, match='is in two label files'):
        run_module(TOOL, [store, labels[0], labels[0]])
