# Imbalance ablation: plain cross-entropy with class-balanced sampling.
_base_ = ['../bdcl_stage1.py']
model = dict(head=dict(loss=dict(_delete_=True, type='CrossEntropyLoss')))
train_dataloader = dict(sampler=dict(_delete_=True,
                                     type='ClassBalancedSampler'))
