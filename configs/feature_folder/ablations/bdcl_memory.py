# BDCL ablation: as bdcl_on.py with a memory queue of the last 1024 labelled
# clips, so rare classes have positives and negatives in every batch.
_base_ = ['bdcl_on.py']
model = dict(aux_losses=[dict(type='BalancedDualContrastiveLoss', tau=0.1,
                              lam_inter=0.2, lam_intra=0.2,
                              gather_distributed=True, memory_size=1024)])
