# Ablation: cross-entropy + the *unbalanced* dual contrastive loss (ordinary
# InfoNCE denominator) on labelled data only; otherwise as ce_bdcl.py.
_base_ = ['ce_bdcl.py']

model = dict(
    aux_losses=[
        dict(type='UnbalancedDualContrastiveLoss', tau=0.1, lam_inter=0.2,
             lam_intra=0.2, gather_distributed=True)
    ])
