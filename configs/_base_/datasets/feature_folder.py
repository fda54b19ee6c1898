# Anyone's features (docs/your_features.md): DATA_ROOT holds classes.txt,
# label-{train,val,test}.csv (name,discrete) and video/ audio/ text/ feature
# folders (any subset; MERTools npy layout or packed). Classes, modalities
# and feature sizes are read from the data: the model's 'auto' fields.
#   DATA_ROOT=/path/to/features python tools/train.py CONFIG
# When label-train.csv names each clip's speaker (a speaker / speaker_id /
# actor / subject column), every split's features are centred on their
# speaker's mean (speaker_centering='auto'; the test speakers on their own
# test clips, no labels used): on RAVDESS's unseen actors this was the
# largest gain measured (docs/benchmarks.md). Every label file of the folder
# then needs the column; speaker_centering=None turns it off.
data_root = '{{$DATA_ROOT:data/my_features}}'

_dataset = dict(type='FeatureFolderDataset', data_root=data_root,
                speaker_centering='auto')
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
