"""Confusion-matrix figure: counts and row-normalised rates side by side."""
import json
from typing import Optional, Sequence, Tuple

import numpy as np

from .figure import new_figure, save_figure


def load_report(path: str) -> dict:
    """Read a ``test_metrics.json`` (``EmotionMetric.dump_report_json``).

    Raises:
        ValueError: the file has no confusion matrix (no labelled clip was
            scored) or its size disagrees with ``class_names``.
    """
    with open(path, encoding='utf-8') as f:
        report = json.load(f)
    cm = report.get('confusion_matrix')
    names = report.get('class_names')
    if cm is None or names is None:
        raise ValueError(f'{path}: no confusion_matrix/class_names; was any '
                         'labelled clip evaluated?')
    if np.shape(cm) != (len(names), len(names)):
        raise ValueError(f'{path}: confusion matrix of shape {np.shape(cm)} '
                         f'for {len(names)} classes')
    return report


def row_normalise(cm: np.ndarray) -> np.ndarray:
    """Rows divided by their sums, in percent (rows without support stay 0).

    The diagonal is then each class's recall, the per-class accuracy of the
    paper's Table 1.
    """
    cm = np.asarray(cm, dtype=np.float64)  # (C, C)
    support = cm.sum(axis=1, keepdims=True)  # (C, 1)
    out = np.zeros_like(cm)
    np.divide(100.0 * cm, support, out=out, where=support > 0)
    return out


def _draw(ax, values: np.ndarray, names: Sequence[str], fmt: str,
          vmax: float, title: str) -> None:
    ax.imshow(values, cmap='Blues', vmin=0, vmax=vmax)
    for (i, j), v in np.ndenumerate(values):
        # Dark cells get white text so numbers stay readable.
        color = 'white' if v > 0.6 * vmax else 'black'
        ax.text(j, i, format(v, fmt), ha='center', va='center', fontsize=8,
                color=color)
    ticks = np.arange(len(names))
    ax.set_xticks(ticks, labels=names, rotation=45, ha='right')
    ax.set_yticks(ticks, labels=names)
    ax.set_xlabel('predicted')
    ax.set_ylabel('true')
    ax.set_title(title, fontsize=10)


def plot_confusion(cm: np.ndarray, class_names: Sequence[str], path: str,
                   title: Optional[str] = None,
                   size: Tuple[float, float] = (10.0, 4.8)) -> str:
    """Counts (left) and row-normalised percent (right) of ``cm (C, C)``.

    Rows are true classes, columns predictions (as in ``emotion_metrics``).
    """
    cm = np.asarray(cm)
    rates = row_normalise(cm)
    fig = new_figure(size)
    left, right = fig.subplots(1, 2)
    _draw(left, cm, class_names, 'd', max(int(cm.max(initial=0)), 1), 'counts')
    _draw(right, rates, class_names, '.1f', 100.0,
          'row-normalised (% of true class; diagonal = recall)')
    if title:
        fig.suptitle(title, fontsize=11)
    return save_figure(fig, path)
