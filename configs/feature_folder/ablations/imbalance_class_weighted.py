# Imbalance ablation: class-weighted cross-entropy, c_k = N / (C * n_k).
_base_ = ['../bdcl_stage1.py']
model = dict(head=dict(loss=dict(_delete_=True, type='CrossEntropyLoss',
                                 class_weight='balanced')))
