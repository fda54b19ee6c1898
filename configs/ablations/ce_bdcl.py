# Ablation: cross-entropy + BDCL on labelled data only (= configs/bdcl_stage1.py
# without pseudo-labelling).
_base_ = ['../bdcl_stage1.py']
