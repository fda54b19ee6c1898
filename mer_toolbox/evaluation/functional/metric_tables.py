"""Human-readable renderings of an :func:`emotion_metrics` report."""
from typing import List, Mapping, Sequence

import numpy as np

_CORNER = 'true\\pred'  # top-left cell of the confusion matrix


def _check_names(report: Mapping, class_names: Sequence[str]) -> List[str]:
    names = [str(n) for n in class_names]
    num_classes = report['confusion_matrix'].shape[0]
    if len(names) != num_classes:
        raise ValueError(f'{len(names)} class names given for a report of '
                         f'{num_classes} classes')
    return names


def format_metric_table(report: Mapping, class_names: Sequence[str]) -> str:
    """Fixed-width text: per-class scores, summary lines, confusion matrix.

    Args:
        report: output of :func:`emotion_metrics`.
        class_names: ``C`` names in class-id order.

    Returns:
        A multi-line string, e.g.::

            class     support  recall/acc  precision     F1
            neutral        10       80.00      72.73  76.19
            ...
            WAF        76.43
            ...
            confusion matrix (rows = true, columns = predicted)
            true\\pred  neutral  angry ...
    """
    names = _check_names(report, class_names)
    per_class = report['per_class']
    unit = '%' if report.get('percent', True) else 'fraction'
    w = max(len(_CORNER), *(len(n) for n in names))

    lines = [f'{"class":<{w}}  {"support":>7}  {"recall/acc":>10}  '
             f'{"precision":>9}  {"F1":>6}']
    for c, name in enumerate(names):
        lines.append(f'{name:<{w}}  {int(per_class["support"][c]):>7d}  '
                     f'{per_class["recall"][c]:>10.2f}  '
                     f'{per_class["precision"][c]:>9.2f}  {per_class["f1"][c]:>6.2f}')
    lines.append('')
    for label, key in (('WAF', 'waf'), ('accuracy', 'accuracy'),
                       ('macro-F1', 'macro_f1'), ('UAR', 'uar')):
        lines.append(f'{label:<{w}}  {report[key]:>7.2f}')
    lines.append(f'(rates in {unit}; {report["num_samples"]} labelled samples; '
                 'UAR averages classes with support > 0)')

    cm = np.asarray(report['confusion_matrix'])  # (C, C)
    cw = max(max(len(n) for n in names), len(str(int(cm.max(initial=0)))))
    lines += ['', 'confusion matrix (rows = true, columns = predicted)',
              f'{_CORNER:<{w}}  ' + '  '.join(f'{n:>{cw}}' for n in names)]
    for name, row in zip(names, cm):
        lines.append(f'{name:<{w}}  ' + '  '.join(f'{int(v):>{cw}d}' for v in row))
    return '\n'.join(lines)


def per_class_markdown(report: Mapping, class_names: Sequence[str],
                       row_name: str = 'model') -> str:
    """The paper's Table-1 shape: overall accuracy then per-class accuracy.

    ``Avg`` is the overall accuracy (the support-weighted mean of the per-class
    accuracies), and each class column is that class's recall.

    Args:
        report: output of :func:`emotion_metrics`.
        class_names: ``C`` names in class-id order.
        row_name: label of the single row (e.g. the method's name).

    Returns:
        A Markdown table with a header, a separator and one row.
    """
    names = _check_names(report, class_names)
    recall = report['per_class']['recall']
    header = '| Method | Avg | ' + ' | '.join(names) + ' |'
    sep = '|' + '---|' * (len(names) + 2)
    cells = [f'{report["accuracy"]:.2f}'] + [f'{r:.2f}' for r in recall]
    return '\n'.join([header, sep, f'| {row_name} | ' + ' | '.join(cells) + ' |'])
