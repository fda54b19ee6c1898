# Anyone's features (docs/your_features.md): DATA_ROOT holds classes.txt,
# label-{train,val,test}.csv (name,discrete) and video/ audio/ text/ feature
# folders (any subset; MERTools npy layout or packed). Classes, modalities
# and feature sizes are read from the data: the model's 'auto' fields.
#   DATA_ROOT=/path/to/features python tools/train.py CONFIG
data_root = '{{$DATA_ROOT:data/my_features}}'

_dataset = dict(type='FeatureFolderDataset', data_root=data_root)
train_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(_dataset, split='train'))
val_dataloader = dict(
    batch_size=256, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_dataset, split='val'))
test_dataloader = dict(
    batch_size=256, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_dataset, split='test'))
# The full table is printed at test time; validation logs the scalars only.
val_evaluator = dict(type='EmotionMetric', print_table=False)
test_evaluator = dict(type='EmotionMetric')
