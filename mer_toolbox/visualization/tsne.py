"""t-SNE of learned embeddings with a number attached (the paper's Fig. 4).

A scatter plot alone is not evidence: t-SNE can make noise look clustered.
Every panel therefore carries the silhouette score of the class labels both in
the original embedding space (what the model learned) and in the 2-D map
(what the eye sees). Silhouette is in ``[-1, 1]``; higher means tighter,
better separated classes.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from .figure import class_colors, new_figure, save_figure


@dataclass
class TSNEPanel:
    """One scatter panel.

    Attributes:
        title: e.g. the method (``'CE+BDCL'``).
        points: ``(N, 2)`` t-SNE coordinates.
        labels: ``(N,)`` class ids.
        scores: output of :func:`cluster_quality`.
    """

    title: str
    points: np.ndarray
    labels: np.ndarray
    scores: Dict[str, float]


def tsne_embedding(features: np.ndarray, perplexity: float = 30.0,
                   seed: int = 0) -> np.ndarray:
    """2-D t-SNE of ``features (N, D)`` -> ``(N, 2)``.

    ``perplexity`` is clipped below ``N`` (sklearn refuses larger values),
    PCA initialisation keeps runs with the same seed reproducible.
    """
    from sklearn.manifold import TSNE
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 3:
        raise ValueError(f't-SNE needs (N >= 3, D) features, got {x.shape}')
    perplexity = float(min(perplexity, (len(x) - 1) / 3))
    tsne = TSNE(n_components=2, perplexity=perplexity, init='pca',
                learning_rate='auto', random_state=seed)
    return tsne.fit_transform(x)


def cluster_quality(features: np.ndarray, points: np.ndarray,
                    labels: np.ndarray, metric: str = 'euclidean'
                    ) -> Dict[str, float]:
    """Silhouette of the class labels in the original and the 2-D space.

    Args:
        features: ``(N, D)`` embeddings.
        points: ``(N, 2)`` their t-SNE map.
        labels: ``(N,)`` class ids (at least two distinct classes).
        metric: distance in the original space (the 2-D map always uses
            Euclidean distance, as t-SNE does).

    Returns:
        ``dict(silhouette_orig=..., silhouette_2d=..., num_samples=N)``.
    """
    from sklearn.metrics import silhouette_score
    labels = np.asarray(labels)
    present = np.unique(labels)
    if not 2 <= len(present) <= len(labels) - 1:
        raise ValueError(f'silhouette needs 2..N-1 classes, got {len(present)} '
                         f'classes over {len(labels)} samples')
    return dict(
        silhouette_orig=float(silhouette_score(features, labels, metric=metric)),
        silhouette_2d=float(silhouette_score(points, labels)),
        num_samples=int(len(labels)))


def tsne_panel(title: str, features: np.ndarray, labels: np.ndarray,
               perplexity: float = 30.0, seed: int = 0) -> TSNEPanel:
    """Embed ``features (N, D)`` and score the result in one call."""
    points = tsne_embedding(features, perplexity, seed)  # (N, 2)
    return TSNEPanel(title, points, np.asarray(labels),
                     cluster_quality(features, points, labels))


def panel_caption(panel: TSNEPanel) -> str:
    """``'CE+BDCL\\nsilhouette: 0.41 (2-D) / 0.18 (original)'``."""
    s = panel.scores
    return (f'{panel.title}\nsilhouette: {s["silhouette_2d"]:.3f} (2-D) / '
            f'{s["silhouette_orig"]:.3f} (original)')


def plot_tsne(panels: Sequence[TSNEPanel], class_names: Sequence[str],
              path: str, suptitle: Optional[str] = None,
              ncols: Optional[int] = None) -> str:
    """Draw the panels in a grid with one shared class legend; save PNG.

    Args:
        panels: filled row by row.
        class_names: names of the class ids, in order.
        path: output PNG.
        suptitle: figure title.
        ncols: panels per row (default: all in one row), e.g. the number of
            compared models, so each row shows one feature.
    """
    colors = class_colors(len(class_names))
    ncols = min(ncols or len(panels), len(panels))
    nrows = -(-len(panels) // ncols)
    fig = new_figure((4.6 * ncols + 1.4, 4.5 * nrows + 0.3))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    for ax, panel in zip(axes, panels):
        for c, name in enumerate(class_names):
            sel = panel.labels == c
            ax.scatter(panel.points[sel, 0], panel.points[sel, 1], s=9,
                       color=colors[c], label=f'{name} ({int(sel.sum())})',
                       alpha=0.8, linewidths=0)
        ax.set_title(panel_caption(panel), fontsize=10)
        # t-SNE axes carry no meaning; ticks would suggest they do.
        ax.set_xticks([])
        ax.set_yticks([])
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc='outside right center', fontsize=9,
               markerscale=2, frameon=False)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return save_figure(fig, path)


def score_lines(panels: List[TSNEPanel]) -> str:
    """Plain-text silhouette report, one line per panel."""
    return '\n'.join(
        f'{p.title}: silhouette 2-D {p.scores["silhouette_2d"]:.4f}, '
        f'original {p.scores["silhouette_orig"]:.4f} '
        f'(N={p.scores["num_samples"]})' for p in panels)
