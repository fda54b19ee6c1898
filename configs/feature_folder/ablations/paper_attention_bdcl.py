# The previous default (the paper's stage 1 as first built): MER "Attention"
# fusion of two-layer MLP encoders, CE + BDCL (tau 0.1, lambda 0.2 / 0.2),
# 40 epochs, no early stopping. The reference row of docs/benchmarks.md.
_base_ = [
    '../../_base_/default_runtime.py', '../../_base_/datasets/feature_folder.py',
    '../../_base_/models/attention_fusion_bdcl.py',
    '../../_base_/schedules/adam_80e.py'
]
model = dict(modalities='auto', feature_dims='auto',
             head=dict(num_classes='auto'))
custom_hooks = [dict(type='FeatureNormHook'), dict(type='EpochSeedHook')]
