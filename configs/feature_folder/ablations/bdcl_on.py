# BDCL ablation: the default recipe plus Balanced Dual-Contrastive Learning
# (the paper's tau 0.1, lambda_inter = lambda_intra = 0.2, exact batch loss),
# on unmixed clips (a contrastive positive needs one label per clip).
_base_ = ['../bdcl_stage1.py']
model = dict(
    aux_losses=[dict(type='BalancedDualContrastiveLoss', tau=0.1,
                     lam_inter=0.2, lam_intra=0.2, gather_distributed=True)],
    contrastive_dim=128,
    mixup_alpha=0.0)
