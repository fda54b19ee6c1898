"""emotion_metrics against sklearn (the oracle), plus the text renderings."""
import warnings

import numpy as np
import pytest
from sklearn.metrics import (accuracy_score, balanced_accuracy_score,
                             confusion_matrix, f1_score, precision_score,
                             recall_score)

from mer_toolbox.evaluation.functional import (emotion_metrics, format_metric_table,
                                               per_class_markdown)

C = 6
NAMES = ['neutral', 'angry', 'happy', 'sad', 'worried', 'surprise']


def _cases():
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, C, 200), rng.integers(0, C, 200)
    yield 'random', t, p
    skewed = rng.choice(C, 300, p=[.4, .25, .15, .1, .07, .03])
    noisy = np.where(rng.random(300) < .7, skewed, rng.integers(0, C, 300))
    yield 'skewed_mostly_right', skewed, noisy
    t = rng.integers(0, C, 100)
    yield 'class_absent_from_pred', t, np.where(t == 2, 3, t)
    p = rng.integers(0, C, 100)
    yield 'class_absent_from_true', np.where(p == 4, 1, rng.integers(0, 4, 100)), p
    yield 'class_absent_from_both', rng.integers(0, 5, 100), rng.integers(0, 5, 100)
    yield 'single_class', np.full(20, 3), np.array([3] * 15 + [0] * 5)
    yield 'single_sample', np.array([5]), np.array([1])
    yield 'perfect', t, t.copy()


@pytest.mark.parametrize('case', list(_cases()), ids=lambda c: c[0])
def test_matches_sklearn(case):
    name, t, p = case
    absent = {'class_absent_from_pred': 2 not in p, 'class_absent_from_true': 4 not in t,
              'class_absent_from_both': 5 not in t and 5 not in p}
    assert absent.get(name, True)  # the case really exercises what its name says
    labels = list(range(C))
    r = emotion_metrics(t, p, C)
    kw = dict(labels=labels, zero_division=0)
    assert r['waf'] == pytest.approx(100 * f1_score(t, p, average='weighted', **kw))
    assert r['accuracy'] == pytest.approx(100 * accuracy_score(t, p))
    assert r['macro_f1'] == pytest.approx(100 * f1_score(t, p, average='macro', **kw))
    with warnings.catch_warnings():  # sklearn warns when pred has classes without support
        warnings.simplefilter('ignore')
        uar = balanced_accuracy_score(t, p)
    assert r['uar'] == pytest.approx(100 * uar)
    pc = r['per_class']
    np.testing.assert_allclose(pc['recall'], 100 * recall_score(t, p, average=None, **kw))
    np.testing.assert_allclose(pc['precision'], 100 * precision_score(t, p, average=None, **kw))
    np.testing.assert_allclose(pc['f1'], 100 * f1_score(t, p, average=None, **kw))
    np.testing.assert_array_equal(pc['support'], np.bincount(t, minlength=C))
    np.testing.assert_array_equal(r['confusion_matrix'], confusion_matrix(t, p, labels=labels))
    assert r['num_samples'] == len(t)


def test_perfect_is_100_and_fraction_scale():
    t = np.array([0, 1, 2, 2, 5])
    r = emotion_metrics(t, t, C)
    assert r['waf'] == r['accuracy'] == r['uar'] == 100.0
    assert r['macro_f1'] == pytest.approx(100 * 4 / 6)  # two classes absent from both count as 0
    frac = emotion_metrics(t, t, C, percent=False)
    assert frac['waf'] == 1.0 and frac['percent'] is False


@pytest.mark.parametrize('t, p, match', [
    ([], [], 'at least one'),
    ([0, 1], [0], 'differ'),
    ([0, 6], [0, 1], 'outside'),
    ([0, -1], [0, 1], 'outside'),
    ([0.0, 1.0], [0, 1], 'integer'),
])
def test_bad_input_raises(t, p, match):
    with pytest.raises(ValueError, match=match):
        emotion_metrics(np.array(t), np.array(p), C)


def test_text_table_and_markdown():
    t, p = np.array([0, 1, 2, 2, 3, 0]), np.array([0, 1, 2, 0, 3, 3])
    r = emotion_metrics(t, p, C)
    table = format_metric_table(r, NAMES)
    lines = table.splitlines()
    assert lines[0].split() == ['class', 'support', 'recall/acc', 'precision', 'F1']
    assert lines[3].split() == ['happy', '2', '50.00', '100.00', '66.67']
    assert any(line.split() == ['WAF', f'{r["waf"]:.2f}'] for line in lines)
    assert any(line.split() == ['UAR', '75.00'] for line in lines)
    # Confusion matrix rows follow the true class: neutral -> neutral once, sad once.
    assert lines[-C].split() == ['neutral', '1', '0', '0', '1', '0', '0']

    md = per_class_markdown(r, NAMES, row_name='ours').splitlines()
    assert md[0] == '| Method | Avg | ' + ' | '.join(NAMES) + ' |'
    assert md[2] == '| ours | 66.67 | 50.00 | 100.00 | 50.00 | 100.00 | 0.00 | 0.00 |'
    with pytest.raises(ValueError, match='class names'):
        format_metric_table(r, NAMES[:5])
