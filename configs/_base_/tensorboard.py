# default_runtime.py with TensorBoard logging next to the local JSON logs.
# LocalVisBackend stays: tools/analysis/plot_curves.py and collect_results.py
# read its <work_dir>/<timestamp>/vis_data/scalars.json. TensorBoard event
# files go to <work_dir>/<timestamp>/vis_data/ as well:
#   tensorboard --logdir work_dirs
# Needs the `tensorboard` package (pip install tensorboard; in the tests extra).
#
# Use it *instead of* _base_/default_runtime.py in a recipe's _base_ list
# (MMEngine forbids the same key in two sibling bases, so it cannot be added
# next to a recipe that already inherits default_runtime.py). To switch an
# existing recipe, write a config that inherits it and sets `visualizer`:
#   _base_ = ['../bdcl_stage1.py']
#   visualizer = dict(vis_backends=[dict(type='LocalVisBackend'),
#                                   dict(type='TensorboardVisBackend')])
_base_ = ['default_runtime.py']

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
