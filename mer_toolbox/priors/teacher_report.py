"""How good is a teacher? Its priors scored against ground-truth labels.

What a user wants to know before paying for 120k calls (and what the paper's
Table 1 reports for each MLLM): the teacher's zero-shot scores, how far its
class scores can be trusted, how often it fails and why, which modality it
leans on per class, and how often it agrees with a student model.

:func:`teacher_report` returns a plain dict (JSON-ready); the semantics:

* **population**: the labelled clips. ``coverage`` counts those with an ok
  record, a failed record, no record.
* **zero-shot**: :func:`~mer_toolbox.evaluation.functional.emotion_metrics`
  (accuracy, WAF, macro-F1, UAR, per-class recall, confusion) on the clips
  the teacher answered; ``accuracy_all_clips`` counts failed and missing
  clips as wrong (what a pseudo-labeller would get).
* **calibration**: the confidence of an answer is the score of the
  teacher's label divided by the sum of its class scores (the scores are
  independent, so they are normalised first); ``ece`` is the expected
  calibration error over ``bins`` equal-width bins (sum over bins of
  ``|bin| / N * |accuracy - mean confidence|``), ``ece_raw`` the same with
  the un-normalised score of the label. ``reliability`` holds each bin's
  count, mean confidence and accuracy (the figure).
* **failures**: count and rate per failure reason over the labelled clips
  (``missing`` = no record); ``prompt_variants`` counts ok records made by a
  second prompt (e.g. after a refusal).
* **contributions**: mean video / audio / text weight of ok records, per
  true class.
* **student** (optional): on clips with both an ok prior and a student
  prediction, the agreement rate, Cohen's kappa, each one's accuracy, and
  the accuracy of the shared label where they agree (the precision an
  agreement filter for pseudo-labels would have) and its coverage.
"""
from collections import Counter
from typing import Dict, Mapping, Optional, Sequence

import numpy as np

from ..evaluation.functional import emotion_metrics
from ..fileio.prior_record import CONTRIBUTION_KEYS, PriorRecord


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray,
                               bins: int = 10) -> Dict[str, object]:
    """ECE of ``(N,)`` confidences in [0, 1] and ``(N,)`` 0/1 correctness.

    Bins are ``[0, 1/bins), ..., [(bins-1)/bins, 1]``.

    Returns:
        ``{'ece': float, 'bins': [{'low', 'high', 'count', 'confidence',
        'accuracy'}, ...]}`` (empty bins have None figures).
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    index = np.minimum((confidence * bins).astype(int), bins - 1)  # (N,)
    ece, table = 0.0, []
    for b in range(bins):
        mask = index == b
        count = int(mask.sum())
        conf = float(confidence[mask].mean()) if count else None
        acc = float(correct[mask].mean()) if count else None
        if count:
            ece += count / len(confidence) * abs(acc - conf)
        table.append(dict(low=b / bins, high=(b + 1) / bins, count=count,
                          confidence=conf, accuracy=acc))
    return dict(ece=float(ece), bins=table)


def _cohen_kappa(a: np.ndarray, b: np.ndarray, num_classes: int) -> float:
    observed = float(np.mean(a == b))
    pa = np.bincount(a, minlength=num_classes) / len(a)
    pb = np.bincount(b, minlength=num_classes) / len(b)
    expected = float(np.dot(pa, pb))
    return 1.0 if expected == 1.0 else (observed - expected) / (1 - expected)


def teacher_report(records: Mapping[str, PriorRecord],
                   labels: Mapping[str, int], classes: Sequence[str],
                   student: Optional[Mapping[str, int]] = None,
                   bins: int = 10) -> dict:
    """Score one teacher's records against ``labels`` (module doc).

    Args:
        records: clip -> that clip's latest record of one teacher + prompt.
        labels: clip -> true class id (the population).
        classes: class names in id order.
        student: clip -> a student's predicted class id.
        bins: calibration bins.

    Raises:
        ValueError: no labelled clip has an ok record.
    """
    classes = list(classes)
    lookup = {c: i for i, c in enumerate(classes)}
    names = sorted(labels)
    ok = [n for n in names if n in records and records[n].ok]
    if not ok:
        raise ValueError(f'none of the {len(names)} labelled clips has an ok '
                         'prior: nothing to score')
    y_true = np.array([labels[n] for n in ok])  # (N,)
    y_teacher = np.array([lookup[records[n].label] for n in ok])  # (N,)
    zero_shot = emotion_metrics(y_true, y_teacher, len(classes),
                                percent=False)
    per_class = {c: dict(recall=float(zero_shot['per_class']['recall'][i]),
                         f1=float(zero_shot['per_class']['f1'][i]),
                         support=int(zero_shot['per_class']['support'][i]))
                 for i, c in enumerate(classes)}

    scores = np.array([[records[n].scores[c] for c in classes]
                       for n in ok])  # (N, C)
    label_score = scores[np.arange(len(ok)), y_teacher]  # (N,)
    totals = scores.sum(axis=1)
    confidence = np.where(totals > 0, label_score / np.maximum(totals, 1e-12),
                          0.0)
    correct = y_true == y_teacher
    calibration = expected_calibration_error(confidence, correct, bins)
    raw = expected_calibration_error(label_score, correct, bins)

    reasons = Counter(records[n].reason if n in records else 'missing'
                      for n in names if n not in records or not records[n].ok)
    variants = Counter(records[n].prompt_variant for n in ok
                       if records[n].prompt_variant)
    contributions = {}
    for i, c in enumerate(classes):
        rows = [records[n].contributions for n, t in zip(ok, y_true)
                if t == i]
        contributions[c] = ({k: float(np.mean([r[k] for r in rows]))
                             for k in CONTRIBUTION_KEYS} if rows else None)

    report = dict(
        classes=classes,
        teacher=records[ok[0]].teacher,
        prompt_version=records[ok[0]].prompt_version,
        coverage=dict(labelled=len(names), ok=len(ok),
                      failed=sum(1 for n in names
                                 if n in records and not records[n].ok),
                      missing=sum(1 for n in names if n not in records)),
        zero_shot=dict(accuracy=zero_shot['accuracy'], waf=zero_shot['waf'],
                       macro_f1=zero_shot['macro_f1'], uar=zero_shot['uar'],
                       accuracy_all_clips=float(correct.sum() / len(names)),
                       per_class=per_class,
                       confusion_matrix=zero_shot['confusion_matrix'].tolist()),
        calibration=dict(ece=calibration['ece'], ece_raw=raw['ece'],
                         mean_confidence=float(confidence.mean()),
                         reliability=calibration['bins']),
        failures={r: dict(count=k, rate=k / len(names))
                  for r, k in sorted(reasons.items())},
        prompt_variants=dict(variants),
        contributions=contributions,
    )
    if student is not None:
        report['student'] = _agreement(ok, y_true, y_teacher, student,
                                       len(classes))
    return report


def _agreement(ok: Sequence[str], y_true: np.ndarray, y_teacher: np.ndarray,
               student: Mapping[str, int], num_classes: int) -> dict:
    keep = np.array([n in student for n in ok])
    if not keep.any():
        raise ValueError('the student predicts none of the clips the teacher '
                         'answered')
    truth, teacher = y_true[keep], y_teacher[keep]  # (M,)
    pred = np.array([student[n] for n, k in zip(ok, keep) if k])  # (M,)
    agree = pred == teacher
    return dict(
        clips=int(keep.sum()),
        agreement=float(agree.mean()),
        cohen_kappa=_cohen_kappa(pred, teacher, num_classes),
        student_accuracy=float(np.mean(pred == truth)),
        teacher_accuracy=float(np.mean(teacher == truth)),
        agreed_accuracy=(float(np.mean(pred[agree] == truth[agree]))
                         if agree.any() else None),
        agreed_coverage=float(agree.mean()),
    )


def report_markdown(report: dict, digits: int = 2) -> str:
    """The report as Markdown (rates in %)."""
    pct = lambda v: '-' if v is None else f'{100 * v:.{digits}f}'  # noqa: E731
    z, cov = report['zero_shot'], report['coverage']
    classes = report['classes']
    lines = [
        f'# Teacher report: {report["teacher"]} / '
        f'{report["prompt_version"]}', '',
        f'{cov["labelled"]} labelled clips: {cov["ok"]} answered, '
        f'{cov["failed"]} failed, {cov["missing"]} without a record.', '',
        '## Zero-shot (answered clips; Table 1 shape, %)', '',
        '| Avg (acc) | WAF | macro-F1 | UAR | acc, all clips | '
        + ' | '.join(classes) + ' |',
        '|' + '---|' * (5 + len(classes)),
        f'| {pct(z["accuracy"])} | {pct(z["waf"])} | {pct(z["macro_f1"])} | '
        f'{pct(z["uar"])} | {pct(z["accuracy_all_clips"])} | '
        + ' | '.join(pct(z['per_class'][c]['recall']) for c in classes)
        + ' |', '',
        '## Calibration', '',
        f'ECE {report["calibration"]["ece"]:.4f} (normalised scores), '
        f'{report["calibration"]["ece_raw"]:.4f} (raw score of the label); '
        f'mean confidence {pct(report["calibration"]["mean_confidence"])} %.',
        '', '| bin | clips | confidence | accuracy |', '|---|---|---|---|']
    lines += [f'| {b["low"]:.1f}-{b["high"]:.1f} | {b["count"]} | '
              f'{pct(b["confidence"])} | {pct(b["accuracy"])} |'
              for b in report['calibration']['reliability'] if b['count']]
    lines += ['', '## Failures', '', '| reason | clips | rate (%) |',
              '|---|---|---|']
    lines += [f'| {r} | {v["count"]} | {pct(v["rate"])} |'
              for r, v in report['failures'].items()] or ['| none | 0 | 0 |']
    if report['prompt_variants']:
        lines += ['', 'Answers from a second prompt: ' + ', '.join(
            f'{k}: {v}' for k, v in report['prompt_variants'].items())]
    lines += ['', '## Contribution weights per true class (%)', '',
              '| class | ' + ' | '.join(CONTRIBUTION_KEYS) + ' |',
              '|---|' + '---|' * len(CONTRIBUTION_KEYS)]
    for c in classes:
        row = report['contributions'][c]
        lines.append(f'| {c} | ' + ' | '.join(
            pct(row[k]) if row else '-' for k in CONTRIBUTION_KEYS) + ' |')
    student = report.get('student')
    if student:
        lines += ['', '## Agreement with the student', '',
                  f'{student["clips"]} clips: agreement '
                  f'{pct(student["agreement"])} %, Cohen\'s kappa '
                  f'{student["cohen_kappa"]:.3f}; accuracy student '
                  f'{pct(student["student_accuracy"])} %, teacher '
                  f'{pct(student["teacher_accuracy"])} %; where they agree '
                  f'({pct(student["agreed_coverage"])} % of clips) the shared '
                  f'label is right {pct(student["agreed_accuracy"])} %.']
    return '\n'.join(lines) + '\n'
