# The default stage-1 recipe on MER2024 train plus extra labelled clips chosen with the
# 'balanced' strategy (paper Table 3): the extra clips go to the classes that
# are rarest in train, so train + extra is as class-balanced as num_extra
# allows (mer_toolbox/datasets/extra_data.py).
#   MER2024_ROOT=/path/to/mer2024 python tools/train.py \
#       configs/mer2024/extra_data_balanced.py \
#       [--cfg-options train_dataloader.dataset.num_extra=2000]
# `label-extra.csv` (name,discrete with MER2024 class names) sits in the same
# root and its clips' features in the same feature folders. It must share no
# clip with label-train.csv (an error lists shared clips) and, for honest
# scores, none with label-val.csv / label-test.csv (not checked here).
# Other strategies: 'random', 'matched' (keep train's class ratio; an error
# when a class has too few extra clips), 'all' (num_extra=None).
# Input statistics are fitted on the base (train) clips only.
_base_ = ['./bdcl_stage1_mer2024_labelled.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ExtraLabelledDataset',
        base={{_base_.train_dataloader.dataset}},
        extra=dict(type='MERFeatureDataset', ann_file='label-extra.csv',
                   data_root={{_base_.data_root}},
                   data_prefix={{_base_.feature_sets}},
                   modalities={{_base_.modalities}},
                   feature_dims={{_base_.feature_dims}}),
        strategy='balanced',
        num_extra=1000,
        seed=0))
