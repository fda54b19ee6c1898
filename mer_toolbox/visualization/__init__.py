"""Analysis figures and tables: t-SNE, confusion matrix, per-class tables,
training curves and multi-run comparisons (CLIs in ``tools/analysis/``).

The ``VISUALIZERS`` / ``VIS_BACKENDS`` registries list this package in their
``locations``, so every training imports it: it must stay cheap, hence
sklearn and the heavy parts of matplotlib are imported inside the functions
that need them, and the submodules are imported on demand::

    from mer_toolbox.visualization.tsne import tsne_panel, plot_tsne
"""
