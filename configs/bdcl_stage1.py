# The default stage-1 recipe on the embedded demo data (one recipe for the
# demo, MER2024 and your own features; chosen on real dev corpora, see
# docs/benchmarks.md): one-layer MLP encoders, concatenation fusion,
# logit-adjusted CE, multimodal mixup, 80 epochs whose final model is the
# result; the unlabelled pool is pseudo-labelled once validation stops
# improving, with per-class adaptive (FreeMatch) thresholds and class-balanced
# selection.
#   python tools/train.py configs/bdcl_stage1.py
# The paper's Balanced Dual-Contrastive Learning is one switch away
# (configs/ablations/ce_bdcl.py); it did not measurably help on real data.
_base_ = [
    '_base_/default_runtime.py', '_base_/datasets/mer_demo.py',
    '_base_/models/concat_fusion.py', '_base_/schedules/adam_80e.py'
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

custom_hooks = _base_.custom_hooks + [
    dict(type='PseudoLabelHook', start_on_plateau=3, interval=1,
         threshold_mode='freematch', class_balanced_ratio=0.5,
         weighting='confidence'),
]
