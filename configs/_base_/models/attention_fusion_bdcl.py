# The attention-fusion model trained with CE + BDCL (paper: tau 0.1,
# lambda_inter = lambda_intra = 0.2), embeddings projected to 128-d for BDCL.
_base_ = ['attention_fusion.py']

model = dict(
    aux_losses=[
        dict(type='BalancedDualContrastiveLoss', tau=0.1, lam_inter=0.2,
             lam_intra=0.2, gather_distributed=True)
    ],
    contrastive_dim=128)
