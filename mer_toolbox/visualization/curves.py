"""Training curves: loss terms per iteration, validation metrics per epoch."""
from typing import Optional, Sequence

import numpy as np

from .figure import new_figure, save_figure
from .scalars import DEFAULT_METRIC, RunScalars, best_val_record, loss_keys

DEFAULT_VAL_KEYS = ('emotion/waf', 'emotion/accuracy')


def _series(records: Sequence[dict], x_key: str, y_key: str):
    pairs = [(r[x_key], r[y_key]) for r in records if y_key in r]
    if not pairs:
        return np.empty(0), np.empty(0)
    x, y = zip(*pairs)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def plot_curves(run: RunScalars, path: str,
                losses: Optional[Sequence[str]] = None,
                val_keys: Sequence[str] = DEFAULT_VAL_KEYS,
                best_metric: str = DEFAULT_METRIC,
                title: Optional[str] = None) -> str:
    """Two panels: loss terms vs. iteration, validation metrics vs. epoch.

    The epoch with the best ``best_metric`` is marked, since that is the
    checkpoint ``save_best`` keeps.

    Args:
        run: from :func:`load_run_scalars`.
        path: output PNG.
        losses: loss keys to draw (default: every logged ``loss*`` key).
        val_keys: validation keys to draw (missing ones are skipped).
        best_metric: the key the best epoch is chosen by.
        title: figure title.

    Raises:
        ValueError: the log has neither training nor validation records.
    """
    if not run.train and not run.val:
        raise ValueError(f'{run.sources}: no training or validation records')
    fig = new_figure((11.0, 4.2))
    ax_loss, ax_val = fig.subplots(1, 2)
    for key in losses or loss_keys(run.train):
        x, y = _series(run.train, 'iter', key)
        if len(x):
            ax_loss.plot(x, y, label=key, lw=1.4 if key == 'loss' else 1.0)
    ax_loss.set_xlabel('iteration')
    ax_loss.set_ylabel('loss (window mean)')
    ax_loss.set_title('training losses', fontsize=10)
    ax_loss.grid(alpha=0.3)
    if ax_loss.lines:
        ax_loss.legend(fontsize=8)

    for key in val_keys:
        x, y = _series(run.val, 'step', key)
        if len(x):
            ax_val.plot(x, y, marker='o', ms=2.5, label=key)
    best = best_val_record(run.val, best_metric)
    if best is not None:
        ax_val.axvline(best['step'], color='grey', ls='--', lw=0.8)
        steps = [r['step'] for r in run.val]
        # Text on the side of the marker with more room, near the bottom
        # where the (rising) curves usually are not.
        left = best['step'] > (min(steps) + max(steps)) / 2
        ax_val.text(best['step'], 0.04,
                    f' best {best_metric} {best[best_metric]:.2f} '
                    f'(epoch {best["step"]}) ',
                    transform=ax_val.get_xaxis_transform(),
                    ha='right' if left else 'left', fontsize=8, color='dimgrey')
    ax_val.set_xlabel('epoch')
    ax_val.set_ylabel('validation score (%)')
    ax_val.set_title('validation', fontsize=10)
    ax_val.grid(alpha=0.3)
    if ax_val.lines:
        ax_val.legend(fontsize=8, loc='lower right')
    if title:
        fig.suptitle(title, fontsize=11)
    return save_figure(fig, path)
