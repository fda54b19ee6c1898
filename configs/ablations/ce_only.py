# Ablation: cross-entropy only (no contrastive term).
_base_ = [
    '../_base_/default_runtime.py', '../_base_/datasets/mer_demo.py',
    '../_base_/models/attention_fusion.py', '../_base_/schedules/adam_80e.py'
]
