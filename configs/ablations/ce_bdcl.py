# Ablation: cross-entropy + BDCL on labelled data only (configs/bdcl_stage1.py
# without pseudo-labelling).
_base_ = [
    '../_base_/default_runtime.py', '../_base_/datasets/mer_demo.py',
    '../_base_/models/attention_fusion.py', '../_base_/schedules/adam_40e.py'
]

model = dict(
    aux_losses=[
        dict(type='BalancedDualContrastiveLoss', tau=0.1, lam_inter=0.2,
             lam_intra=0.2, gather_distributed=True)
    ],
    contrastive_dim=128)
