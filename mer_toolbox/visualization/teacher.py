"""The teacher report's figure: reliability diagram and per-class recall."""
from .figure import class_colors, new_figure, save_figure


def plot_teacher_report(report: dict, path: str) -> str:
    """Write a two-panel PNG of a :func:`~mer_toolbox.priors.teacher_report`.

    Left: reliability diagram (accuracy against mean confidence per bin, bar
    width = bin, the diagonal is perfect calibration, bin counts printed).
    Right: zero-shot recall per class (the paper's Table 1 row).

    Returns:
        ``path``.
    """
    fig = new_figure((10, 4.2))
    left, right = fig.subplots(1, 2)
    bins = [b for b in report['calibration']['reliability'] if b['count']]
    width = bins[0]['high'] - bins[0]['low'] if bins else 0.1
    left.plot([0, 1], [0, 1], ls='--', c='grey', lw=1, label='perfect')
    left.bar([b['low'] for b in bins], [b['accuracy'] for b in bins],
             width=width, align='edge', alpha=0.7, edgecolor='k',
             label='accuracy')
    left.plot([b['confidence'] for b in bins], [b['accuracy'] for b in bins],
              'o', c='C3', label='mean confidence')
    for b in bins:
        left.text(b['low'] + width / 2, b['accuracy'] + 0.02, str(b['count']),
                  ha='center', fontsize=7)
    left.set(xlim=(0, 1), ylim=(0, 1.08), xlabel='confidence (normalised '
             'score of the label)', ylabel='accuracy',
             title=f'Reliability: ECE {report["calibration"]["ece"]:.3f}')
    left.legend(loc='upper left', fontsize=8)
    classes = report['classes']
    zero_shot = report['zero_shot']
    recall = [100 * zero_shot['per_class'][c]['recall'] for c in classes]
    right.bar(range(len(classes)), recall, color=class_colors(len(classes)))
    right.axhline(100 * zero_shot['accuracy'], ls='--', c='k', lw=1,
                  label=f'accuracy {100 * zero_shot["accuracy"]:.1f}')
    right.set_xticks(range(len(classes)), classes, rotation=30)
    right.set(ylim=(0, 100), ylabel='recall (%)',
              title=f'{report["teacher"]}: zero-shot WAF '
                    f'{100 * zero_shot["waf"]:.1f}')
    right.legend(loc='upper right', fontsize=8)
    return save_figure(fig, path)
