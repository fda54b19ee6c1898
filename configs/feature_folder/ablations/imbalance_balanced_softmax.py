# Imbalance ablation: balanced softmax (Ren et al. 2020) = logit adjustment
# with tau 1 (the default uses tau 0.5).
_base_ = ['../bdcl_stage1.py']
model = dict(head=dict(loss=dict(_delete_=True, type='BalancedSoftmaxLoss')))
