# Stage 1 of arXiv 2508.03722 on the embedded demo data:
# cross-entropy + Balanced Dual-Contrastive Learning (tau 0.1, lam 0.2 / 0.2),
# labelled data only for `cold_start` epochs, then the unlabelled pool is
# pseudo-labelled after every epoch and trained on from the next one.
#   python tools/train.py configs/bdcl_stage1.py
_base_ = [
    '_base_/default_runtime.py', '_base_/datasets/mer_demo.py',
    '_base_/models/attention_fusion_bdcl.py', '_base_/schedules/adam_40e.py'
]

train_dataloader = dict(
    sampler=dict(type='SemiSupervisedSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='SemiSupervisedDataset',
        labelled=dict(type='DemoMERDataset', split='train',
                      data_root={{_base_.data_root}},
                      modalities={{_base_.modalities}}),
        unlabelled=dict(type='DemoMERDataset', split='pool',
                        data_root={{_base_.data_root}},
                        modalities={{_base_.modalities}})))

custom_hooks = [
    dict(type='FeatureNormHook'),
    dict(type='EpochSeedHook'),
    dict(type='PseudoLabelHook', cold_start=20, interval=1, threshold=0.9,
         class_balanced_ratio=0.5, weighting='hard'),
]
