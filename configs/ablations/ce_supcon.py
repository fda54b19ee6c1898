# Ablation: cross-entropy + the *unbalanced* dual contrastive loss (ordinary
# InfoNCE denominator), everything else as in configs/bdcl_stage1.py.
_base_ = ['../bdcl_stage1.py']

model = dict(
    aux_losses=[
        dict(type='UnbalancedDualContrastiveLoss', tau=0.1, lam_inter=0.2,
             lam_intra=0.2, gather_distributed=True)
    ])
