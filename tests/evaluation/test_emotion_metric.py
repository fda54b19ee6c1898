"""EmotionMetric built through the registry, fed like MMEngine's val loop feeds it."""
import csv
import json

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from sklearn.metrics import accuracy_score, f1_score, recall_score

from mer_toolbox.constants import MER2024_CLASSES
from mer_toolbox.registry import METRICS
from mer_toolbox.structures import EmotionSample

CLASSES = list(MER2024_CLASSES)
C = len(CLASSES)


def _data(n=40, unlabelled=8, seed=0):
    """Labels (``-1`` for the last ``unlabelled``), probabilities ``(n, C)``, names."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, C, (n,), generator=g)
    labels[n - unlabelled:] = -1
    scores = torch.softmax(torch.randn(n, C, generator=g) * 2, dim=1)
    return labels.tolist(), scores, [f'sample_{i:05d}' for i in range(n)]


def _objects(labels, scores):
    return [EmotionSample().set_gt_label(lab).set_pred(s) for lab, s in zip(labels, scores)]


def _dicts(labels, scores, names, **extra):
    out = []
    for i, (lab, s, name) in enumerate(zip(labels, scores, names)):
        d = dict(name=name, gt_label=torch.tensor([lab]), pred_score=s,
                 pred_label=s.argmax(-1, keepdim=True))
        out.append({**d, **{k: v[i] for k, v in extra.items()}})
    return out


def _metric(classes=CLASSES, **kwargs):
    metric = METRICS.build(dict(dict(type='EmotionMetric', print_table=False), **kwargs))
    if classes is not None:
        metric.dataset_meta = dict(classes=classes)
    return metric


def test_evaluator_end_to_end_matches_sklearn():
    labels, scores, _ = _data()
    metric = _metric(print_table=True)
    evaluator = Evaluator(metric)
    samples = _objects(labels, scores)
    for start in range(0, len(samples), 16):  # the val loop feeds batches
        evaluator.process(samples[start:start + 16])
    out = evaluator.evaluate(len(samples))

    t = np.array(labels)
    keep = t >= 0
    t, p = t[keep], scores.argmax(1).numpy()[keep]
    expected = {'waf': 100 * f1_score(t, p, average='weighted', labels=range(C), zero_division=0),
                'accuracy': 100 * accuracy_score(t, p),
                'macro_f1': 100 * f1_score(t, p, average='macro', labels=range(C), zero_division=0)}
    recall = 100 * recall_score(t, p, average=None, labels=range(C), zero_division=0)
    expected.update({f'recall_{c}': r for c, r in zip(CLASSES, recall)})
    assert set(out) == {f'emotion/{k}' for k in [*expected, 'uar']}
    assert not any('loss' in k for k in out)
    for k, v in expected.items():
        assert out[f'emotion/{k}'] == pytest.approx(v)
    assert all(isinstance(v, float) for v in out.values())

    report = metric.last_report
    assert report['num_samples'] == 40 and report['num_labelled'] == 32
    assert report['pred_scores'].shape == (40, C)
    assert report['confusion_matrix'].sum() == 32
    assert report['used_prior_fallback'] is None and report['modality_weights'] is None


def test_objects_and_dicts_give_the_same_result():
    labels, scores, names = _data(seed=1)
    from_objects, from_dicts = _metric(), _metric()
    from_objects.process(None, _objects(labels, scores))
    from_dicts.process(None, _dicts(labels, scores, names))
    assert from_objects.compute_metrics(from_objects.results) == \
        from_dicts.compute_metrics(from_dicts.results)


def test_unlabelled_only_returns_no_scores_but_keeps_predictions(tmp_path):
    labels, scores, names = _data(n=5, unlabelled=5)
    metric = _metric()
    metric.process(None, _dicts(labels, scores, names))
    assert metric.compute_metrics(metric.results) == {}

    metric.dump_predictions_csv(str(tmp_path / 'sub' / 'pred.csv'))
    with open(tmp_path / 'sub' / 'pred.csv', newline='') as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['name', 'discrete', *CLASSES]
    assert [r[0] for r in rows[1:]] == names
    assert [r[1] for r in rows[1:]] == [CLASSES[i] for i in scores.argmax(1)]
    np.testing.assert_allclose(np.array([r[2:] for r in rows[1:]], dtype=float),
                               scores.numpy(), atol=1e-6)

    metric.dump_report_json(str(tmp_path / 'report.json'))
    report = json.loads((tmp_path / 'report.json').read_text())
    assert report['num_labelled'] == 0 and report['metrics'] == {}
    assert report['confusion_matrix'] is None and 'per_class' not in report


def test_report_json_and_prior_fallback(tmp_path):
    labels, scores, names = _data(n=6, unlabelled=0, seed=2)
    fallback = [True, False, True, False]
    weights = torch.softmax(torch.randn(6, 3), dim=1)
    metric = _metric()
    samples = _dicts(labels, scores, names, modality_weights=weights)
    for s, flag in zip(samples, fallback):  # the last two carry no flag at all
        s['used_prior_fallback'] = flag
    metric.process(None, samples)
    out = metric.compute_metrics(metric.results)
    assert out['prior_fallback_count'] == 2
    np.testing.assert_allclose(metric.last_report['modality_weights'], weights.numpy(), rtol=1e-6)

    metric.dump_report_json(str(tmp_path / 'r.json'), include_predictions=True)
    report = json.loads((tmp_path / 'r.json').read_text())
    assert report['class_names'] == CLASSES
    assert report['metrics']['waf'] == pytest.approx(out['waf'])
    assert report['per_class']['happy']['support'] == labels.count(2)
    assert report['per_class']['sad']['recall'] == pytest.approx(out['recall_sad'])
    assert np.array(report['confusion_matrix']).shape == (C, C)
    assert report['names'] == names and report['gt_labels'] == labels
    assert report['used_prior_fallback'] == fallback + [False, False]


def test_class_count_mismatch_raises():
    labels, scores, names = _data(n=4, unlabelled=0)
    metric = _metric(classes=['neg', 'neu', 'pos'])
    metric.process(None, _dicts(labels, scores, names))
    with pytest.raises(ValueError, match='6 entries but there are 3 classes'):
        metric.compute_metrics(metric.results)


def test_falls_back_to_mer2024_classes_without_dataset_meta():
    labels, scores, names = _data(n=4, unlabelled=0)
    metric = _metric(classes=None)
    metric.process(None, _dicts(labels, scores, names))
    assert 'recall_surprise' in metric.compute_metrics(metric.results)
    seven = _metric(classes=None)
    seven.process(None, _dicts(labels, torch.rand(4, 7), names))
    with pytest.raises(ValueError, match='MER2024_CLASSES fallback'):
        seven.compute_metrics(seven.results)


def test_bad_samples_fail_loudly(tmp_path):
    metric = _metric()
    with pytest.raises(KeyError, match='pred_score'):
        metric.process(None, [dict(name='clip_a', gt_label=torch.tensor([0]))])
    metric.process(None, _dicts([7], torch.rand(1, C), ['clip_b']))
    with pytest.raises(ValueError, match=r'gt_label outside \[-1, 6\)'):
        metric.compute_metrics(metric.results)
    with pytest.raises(RuntimeError, match='run evaluation first'):
        _metric().dump_predictions_csv(str(tmp_path / 'x.csv'))
    nameless = _metric()
    nameless.process(None, _objects([0], torch.rand(1, C)))
    nameless.compute_metrics(nameless.results)
    with pytest.raises(ValueError, match='no name'):
        nameless.dump_predictions_csv(str(tmp_path / 'x.csv'))


def test_clip_name_travels_from_emotion_sample_metainfo():
    scores = torch.rand(2, C)
    samples = [EmotionSample(metainfo=dict(name=f'clip_{i}')).set_gt_label(-1).set_pred(s)
               for i, s in enumerate(scores)]
    metric = _metric()
    Evaluator(metric).process(samples)
    metric.compute_metrics(metric.results)
    assert metric.last_report['names'] == ['clip_0', 'clip_1']


@pytest.mark.parametrize('flags,expected', [
    ([True] * 4, 'all 4 clips were predicted without a prior'),
    ([True, False, False, False], '1 of 4 clips'),
])
def test_prior_fallback_is_logged(monkeypatch, flags, expected):
    from mer_toolbox.evaluation.metrics import emotion_metric
    logged = []
    monkeypatch.setattr(emotion_metric, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    labels, scores, names = _data(n=4, unlabelled=0, seed=3)
    samples = _dicts(labels, scores, names)
    for sample, flag in zip(samples, flags):
        sample['used_prior_fallback'] = flag
    metric = _metric()
    metric.process(None, samples)
    metric.compute_metrics(metric.results)
    assert any(expected in m for m in logged), logged
    assert ('drop_priors_at_test=True' in ' '.join(logged)) == all(flags)
