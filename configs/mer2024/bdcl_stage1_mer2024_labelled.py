# The default stage-1 recipe on real MER2024-SEMI features, labelled clips
# only (no pseudo-labels).
#   MER2024_ROOT=/path/to/mer2024 python tools/cross_validate.py \
#       configs/mer2024/bdcl_stage1_mer2024_labelled.py --folds 5
_base_ = [
    '../_base_/default_runtime.py', '../_base_/datasets/mer2024.py',
    '../_base_/models/concat_fusion.py', '../_base_/schedules/adam_80e.py'
]

model = dict(feature_dims=dict(video=768, audio=1024, text=4096))

# No val split in MER2024: model selection is per fold (tools/cross_validate.py).
val_cfg = None
