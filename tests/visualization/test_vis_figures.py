"""t-SNE scores, confusion-matrix and curve figures on synthetic data."""
import json

import numpy as np
import pytest
from PIL import Image

from mer_toolbox.evaluation import emotion_metrics
from mer_toolbox.visualization.confusion import (load_report, plot_confusion,
                                                 row_normalise)
from mer_toolbox.visualization.curves import plot_curves
from mer_toolbox.visualization.scalars import RunScalars
from mer_toolbox.visualization.tsne import (cluster_quality, plot_tsne,
                                            tsne_embedding, tsne_panel)


@pytest.fixture(autouse=True)
def one_openmp_thread():
    """t-SNE's OpenMP threads spin against pytest-xdist workers on a 2-core
    machine and run 10x slower; one thread is fast at these sizes."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1):
        yield


def assert_png(path, min_width=300):
    with Image.open(path) as img:
        assert img.format == 'PNG'
        img.verify()
    with Image.open(path) as img:
        assert img.width > min_width and img.height > 150


def slow_silhouette(x, labels):
    """Textbook silhouette (Rousseeuw 1987), Euclidean, one sample at a time."""
    scores = []
    for i in range(len(x)):
        d = np.linalg.norm(x - x[i], axis=1)
        same = (labels == labels[i]) & (np.arange(len(x)) != i)
        if not same.any():
            scores.append(0.0)
            continue
        a = d[same].mean()
        b = min(d[labels == c].mean() for c in set(labels.tolist()) if c != labels[i])
        scores.append((b - a) / max(a, b))
    return float(np.mean(scores))


def blobs(n_per_class=20, classes=3, dim=16, spread=0.3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim)) * 3
    labels = np.repeat(np.arange(classes), n_per_class)
    return centres[labels] + spread * rng.normal(size=(len(labels), dim)), labels


def test_cluster_quality_matches_a_slow_silhouette():
    x, labels = blobs(spread=2.0)
    points = tsne_embedding(x, perplexity=10)
    scores = cluster_quality(x, points, labels)
    assert scores['silhouette_orig'] == pytest.approx(slow_silhouette(x, labels), abs=1e-9)
    assert scores['silhouette_2d'] == pytest.approx(slow_silhouette(points, labels), abs=1e-9)
    assert scores['num_samples'] == 60


def test_separated_classes_score_high_and_shuffled_labels_do_not():
    x, labels = blobs()
    good = tsne_panel('good', x, labels, perplexity=10)
    shuffled = np.random.default_rng(1).permutation(labels)
    bad = cluster_quality(x, good.points, shuffled)
    assert good.scores['silhouette_orig'] > 0.7
    assert good.scores['silhouette_2d'] > 0.5
    assert bad['silhouette_orig'] < 0.05 and bad['silhouette_2d'] < 0.05


def test_tsne_is_seeded_and_clips_perplexity_for_few_samples():
    x, labels = blobs(n_per_class=4)
    a = tsne_embedding(x, perplexity=30, seed=3)  # 30 > N: clipped
    b = tsne_embedding(x, perplexity=30, seed=3)
    assert a.shape == (12, 2)
    np.testing.assert_allclose(a, b)
    with pytest.raises(ValueError, match='silhouette needs'):
        cluster_quality(x, a, np.zeros(12, int))


def test_plot_tsne_writes_one_png_with_all_panels(tmp_path):
    x, labels = blobs()
    panels = [tsne_panel(t, x, labels, perplexity=10) for t in ('CE', 'CE+BDCL')]
    out = plot_tsne(panels, ['a', 'b', 'c'], str(tmp_path / 'sub' / 't.png'), 'title')
    assert_png(out, min_width=800)  # two panels side by side
    with pytest.raises(ValueError, match='PNG'):
        plot_tsne(panels, ['a', 'b', 'c'], str(tmp_path / 't.pdf'))


def test_row_normalised_diagonal_is_the_per_class_recall():
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 1, 0, 1, 2, 2, 2, 0, 2])
    report = emotion_metrics(y_true, y_pred, num_classes=4)  # class 3 unseen
    rates = row_normalise(report['confusion_matrix'])
    np.testing.assert_allclose(np.diag(rates), report['per_class']['recall'])
    np.testing.assert_allclose(rates[:3].sum(1), 100.0)
    assert not rates[3].any()  # no support: a zero row, not NaN


def test_confusion_figure_from_a_report_file(tmp_path):
    cm = [[5, 1, 0], [2, 7, 1], [0, 0, 4]]
    path = tmp_path / 'test_metrics.json'
    path.write_text(json.dumps(dict(class_names=['a', 'b', 'c'], confusion_matrix=cm,
                                    metrics=dict(waf=1.0, accuracy=2.0))))
    report = load_report(str(path))
    assert_png(plot_confusion(report['confusion_matrix'], report['class_names'],
                              str(tmp_path / 'cm.png'), 'x'))
    path.write_text(json.dumps(dict(class_names=['a'], confusion_matrix=None)))
    with pytest.raises(ValueError, match='labelled'):
        load_report(str(path))


def test_curves_figure_from_records(tmp_path):
    train = [dict(step=i, iter=i, epoch=1 + i // 10, loss=2.0 / i, loss_cls=1.5 / i)
             for i in range(5, 41, 5)]
    val = [{'step': e, 'emotion/waf': 40.0 + e, 'emotion/accuracy': 45.0 + e}
           for e in range(1, 5)]
    out = plot_curves(RunScalars(train, val, ['x']), str(tmp_path / 'c.png'))
    assert_png(out, min_width=800)
    with pytest.raises(ValueError, match='no training or validation'):
        plot_curves(RunScalars([], [], ['x']), str(tmp_path / 'e.png'))
