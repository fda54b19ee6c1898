# Ablation: cross-entropy + BDCL on labelled data only (configs/bdcl_stage1.py
# without pseudo-labelling).
_base_ = [
    '../_base_/default_runtime.py', '../_base_/datasets/mer_demo.py',
    '../_base_/models/attention_fusion_bdcl.py', '../_base_/schedules/adam_80e.py'
]

