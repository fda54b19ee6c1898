# The stage-1 recipe on your own features (docs/your_features.md):
#   DATA_ROOT=/path/to/features python tools/train.py \
#       configs/feature_folder/bdcl_stage1.py
_base_ = [
    '../_base_/default_runtime.py', '../_base_/datasets/feature_folder.py',
    '../_base_/models/attention_fusion_bdcl.py',
    '../_base_/schedules/adam_40e.py'
]
model = dict(modalities='auto', feature_dims='auto',
             head=dict(num_classes='auto'))
