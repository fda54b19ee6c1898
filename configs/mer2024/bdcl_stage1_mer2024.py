# The default stage 1 with pseudo-labels on real MER2024-SEMI features
# (see docs/extraction.md for producing them):
#   MER2024_ROOT=/path/to/mer2024 python tools/cross_validate.py \
#       configs/mer2024/bdcl_stage1_mer2024.py --folds 5 \
#       --work-dir work_dirs/bdcl_stage1_mer2024_cv5
# (the MER protocol: 5 fold models, each picking its epoch on its held-out
# fold; the test prediction is their mean. tools/train.py alone trains on all
# of train without validation and tests the final weights.)
# Besides the labelled CSVs the root holds `unlabelled.csv` (column `name`):
# the ~115k unlabelled clips, whose features sit in the same folders. Pack the
# feature folders (tools/pack_features.py) for fast pool scoring.
_base_ = ['bdcl_stage1_mer2024_labelled.py']

_features = dict(type='MERFeatureDataset', data_root={{_base_.data_root}},
                 data_prefix={{_base_.feature_sets}},
                 modalities={{_base_.modalities}},
                 feature_dims={{_base_.feature_dims}})
train_dataloader = dict(
    sampler=dict(type='SemiSupervisedSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='SemiSupervisedDataset',
        labelled=dict(_features, ann_file='label-train.csv'),
        unlabelled=dict(_features, ann_file='unlabelled.csv',
                        labelled=False)))

# Members of tools/cross_validate.py validate on their held-out fold, so the
# pool is pseudo-labelled once that stops improving (a plain tools/train.py
# run has no validation and is refused: use cross_validate.py, or
# --cfg-options custom_hooks.2.start_on_plateau=None custom_hooks.2.warmup_ratio=0.5).
custom_hooks = _base_.custom_hooks + [
    dict(type='PseudoLabelHook', start_on_plateau=3, interval=1,
         threshold_mode='freematch', class_balanced_ratio=0.5,
         weighting='confidence', batch_size=4096),
]
