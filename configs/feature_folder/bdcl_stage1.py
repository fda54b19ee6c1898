# The default stage-1 recipe on your own features (docs/your_features.md):
#   DATA_ROOT=/path/to/features python tools/train.py \
#       configs/feature_folder/bdcl_stage1.py
# Classes, modalities and feature sizes come from DATA_ROOT ('auto').
_base_ = [
    '../_base_/default_runtime.py', '../_base_/datasets/feature_folder.py',
    '../_base_/models/concat_fusion.py', '../_base_/schedules/adam_80e.py'
]
model = dict(modalities='auto', feature_dims='auto',
             head=dict(num_classes='auto'))
