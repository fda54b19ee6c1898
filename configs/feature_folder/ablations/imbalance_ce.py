# Imbalance ablation: the default recipe with plain cross-entropy.
_base_ = ['../bdcl_stage1.py']
model = dict(head=dict(loss=dict(_delete_=True, type='CrossEntropyLoss')))
