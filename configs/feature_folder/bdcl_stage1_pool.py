# The default stage-1 recipe with semi-supervision on your own features: the
# clips listed in DATA_ROOT/pool.csv (column `name`; their features in the
# same folders) are pseudo-labelled once validation stops improving.
#   DATA_ROOT=/path/to/features python tools/train.py \
#       configs/feature_folder/bdcl_stage1_pool.py
_base_ = ['bdcl_stage1.py']

_folder = dict(type='FeatureFolderDataset', data_root={{_base_.data_root}})
train_dataloader = dict(
    sampler=dict(type='SemiSupervisedSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='SemiSupervisedDataset',
        labelled=dict(_folder, split='train'),
        unlabelled=dict(_folder, ann_file='pool.csv', labelled=False)))
custom_hooks = _base_.custom_hooks + [
    dict(type='PseudoLabelHook', start_on_plateau=3, interval=1,
         threshold_mode='freematch', class_balanced_ratio=0.5,
         weighting='confidence'),
]
