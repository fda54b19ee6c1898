# Stage 1 of arXiv 2508.03722 on the embedded demo data:
# cross-entropy + Balanced Dual-Contrastive Learning (tau 0.1, lam 0.2 / 0.2).
#   python tools/train.py configs/bdcl_stage1.py
_base_ = [
    '_base_/default_runtime.py', '_base_/datasets/mer_demo.py',
    '_base_/models/attention_fusion.py', '_base_/schedules/adam_40e.py'
]

model = dict(
    aux_losses=[
        dict(type='BalancedDualContrastiveLoss', tau=0.1, lam_inter=0.2,
             lam_intra=0.2, gather_distributed=True)
    ],
    contrastive_dim=128)
