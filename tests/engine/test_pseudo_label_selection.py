"""Pseudo-label selection on hand-made scores."""
import numpy as np
import pytest

from mer_toolbox.engine.hooks import select_pseudo_labels


def scores_for(preds, confs, num_classes=3):
    """Rows whose argmax is ``pred`` with top probability ``conf``."""
    rows = []
    for p, c in zip(preds, confs):
        row = np.full(num_classes, (1 - c) / (num_classes - 1))
        row[p] = c
        rows.append(row)
    return np.array(rows)


def test_threshold_keeps_confident_only():
    s = scores_for([0, 1, 2, 0], [0.95, 0.89, 0.9, 0.5])
    out = select_pseudo_labels(s, threshold=0.9)
    assert out['labels'].tolist() == [0, -1, 2, -1]
    assert out['weights'].tolist() == [1, 0, 1, 0]


def test_max_per_class_keeps_the_most_confident():
    s = scores_for([0, 0, 0, 1], [0.91, 0.99, 0.95, 0.97])
    out = select_pseudo_labels(s, threshold=0.9, max_per_class=2)
    assert out['labels'].tolist() == [-1, 0, 0, 1]


def test_class_balanced_ratio_takes_the_same_fraction_per_class():
    # class 0: 8 predictions, class 1: 2 predictions, all confident
    s = scores_for([0] * 8 + [1] * 2,
                   [0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.93, 0.92, 0.99,
                    0.91])
    out = select_pseudo_labels(s, threshold=0.9, class_balanced_ratio=0.5)
    assert (out['labels'] == 0).sum() == 4 and (out['labels'] == 1).sum() == 1
    assert out['labels'][:4].tolist() == [0, 0, 0, 0]  # the 4 most confident
    assert out['labels'][8] == 1 and out['labels'][9] == -1


def test_confidence_weighting_and_exclusion():
    s = scores_for([0, 1], [0.95, 0.92])
    out = select_pseudo_labels(s, threshold=0.9, weighting='confidence',
                               excluded=np.array([1]))
    assert out['labels'].tolist() == [0, -1]
    np.testing.assert_allclose(out['weights'], [0.95, 0.0], rtol=1e-6)


def test_ties_break_by_pool_index():
    s = scores_for([0, 0, 0], [0.95, 0.95, 0.95])
    out = select_pseudo_labels(s, threshold=0.9, max_per_class=2)
    assert out['labels'].tolist() == [0, 0, -1]


@pytest.mark.parametrize('kwargs', [dict(threshold=0.0), dict(threshold=1.2),
                                    dict(class_balanced_ratio=0.0),
                                    dict(max_per_class=-1),
                                    dict(weighting='soft')])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        select_pseudo_labels(scores_for([0], [0.9]), **kwargs)


def test_freematch_thresholds_follow_the_pool():
    from mer_toolbox.engine.hooks.pseudo_label_selection import \
        adaptive_thresholds
    scores = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.2, 0.5, 0.3],
                       [0.1, 0.1, 0.8]])
    level = np.mean([0.7, 0.6, 0.5, 0.8])
    per_class = scores.mean(0)
    expected = level * per_class / per_class.max()
    np.testing.assert_allclose(adaptive_thresholds(scores, 'freematch'),
                               expected)
    # the rarest predicted class gets the lowest bar
    t = adaptive_thresholds(scores, 'freematch')
    assert t.argmin() == per_class.argmin()


def test_flexmatch_thresholds_scale_with_learning_status():
    from mer_toolbox.engine.hooks.pseudo_label_selection import \
        adaptive_thresholds
    scores = np.array([[0.95, 0.05, 0.0]] * 4 + [[0.05, 0.95, 0.0]] * 2
                      + [[0.4, 0.3, 0.3]] * 3)
    # sigma = (4, 2, 0); 3 unsure clips < 4: beta = sigma / 4
    beta = np.array([1.0, 0.5, 0.0])
    np.testing.assert_allclose(adaptive_thresholds(scores, 'flexmatch', 0.9),
                               0.9 * beta / (2 - beta))
    np.testing.assert_allclose(adaptive_thresholds(scores, 'fixed', 0.8),
                               [0.8] * 3)
    with pytest.raises(ValueError, match='threshold mode'):
        adaptive_thresholds(scores, 'softmatch')


def test_per_class_thresholds_select_by_predicted_class():
    scores = np.array([[0.6, 0.4], [0.45, 0.55], [0.3, 0.7]])
    sel = select_pseudo_labels(scores, threshold=np.array([0.65, 0.5]))
    # clip 0: class 0 at 0.6 < 0.65 -> out; clips 1-2: class 1 >= 0.5 -> in
    np.testing.assert_array_equal(sel['labels'], [-1, 1, 1])
    with pytest.raises(ValueError, match='one per class'):
        select_pseudo_labels(scores, threshold=np.array([0.5, 0.5, 0.5]))
