# Ablation on real MER2024-SEMI features: CE + BDCL on the labelled clips only
# (no pseudo-labels).
#   MER2024_ROOT=/path/to/mer2024 python tools/cross_validate.py \
#       configs/mer2024/bdcl_stage1_mer2024_labelled.py --folds 5
_base_ = [
    '../_base_/default_runtime.py', '../_base_/datasets/mer2024.py',
    '../_base_/models/attention_fusion.py', '../_base_/schedules/adam_40e.py'
]

model = dict(
    feature_dims=dict(video=768, audio=1024, text=4096),
    encoders=dict(type='MLPFeatureProjector', hidden_dim=256, num_layers=2,
                  dropout=0.3),
    aux_losses=[
        dict(type='BalancedDualContrastiveLoss', tau=0.1, lam_inter=0.2,
             lam_intra=0.2, gather_distributed=True)
    ],
    contrastive_dim=128)

# No val split in MER2024: model selection is per fold (tools/cross_validate.py).
val_cfg = None
