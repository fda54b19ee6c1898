"""Matplotlib glue shared by the figures: no pyplot, no global backend."""
import os
import os.path as osp
from typing import Sequence, Tuple

from matplotlib.figure import Figure


def new_figure(size: Tuple[float, float], dpi: int = 110) -> Figure:
    """A figure that renders with Agg whatever backend pyplot has chosen.

    ``Figure`` objects created without pyplot are not registered with any
    GUI manager, so the tools run on headless machines and never leak
    figures between calls.
    """
    return Figure(figsize=size, dpi=dpi, layout='constrained')


def save_figure(fig: Figure, path: str) -> str:
    """Write ``fig`` as PNG to ``path`` (parents created); return the path."""
    if not path.lower().endswith('.png'):
        raise ValueError(f'figures are written as PNG; {path!r} does not end '
                         'in .png')
    parent = osp.dirname(osp.abspath(path))
    os.makedirs(parent, exist_ok=True)
    fig.savefig(path, format='png')
    return path


def class_colors(num_classes: int) -> Sequence:
    """One fixed colour per class id, the same in every panel and figure."""
    from matplotlib import colormaps
    cmap = colormaps['tab10' if num_classes <= 10 else 'tab20']
    return [cmap(i % cmap.N) for i in range(num_classes)]
