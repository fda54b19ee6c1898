# Real MER2024 features in the MERTools layout (see docs/mer2024.md):
#   data_root/
#     label-train.csv                                   name,discrete
#     label-test.csv                                    name,discrete (or name only)
#     clip-vit-large-patch14-UTT/<name>.npy            (768,)
#     chinese-hubert-large-UTT/<name>.npy              (1024,)
#     bloom-7b1-UTT/<name>.npy                         (4096,)
# Any feature folder may instead be a packed store (tools/pack_features.py);
# the dataset detects the layout.
# Point MER2024_ROOT at your copy (MMEngine substitutes environment variables
# written as {{$NAME:default}}); the dumped config records the resolved path.
data_root = '{{$MER2024_ROOT:data/mer2024}}'
modalities = ['video', 'audio', 'text']
feature_sets = dict(video='clip-vit-large-patch14-UTT',
                    audio='chinese-hubert-large-UTT',
                    text='bloom-7b1-UTT')
feature_dims = dict(video=768, audio=1024, text=4096)

_dataset = dict(type='MERFeatureDataset', data_root=data_root,
                data_prefix=feature_sets, modalities=modalities,
                feature_dims=feature_dims)
train_dataloader = dict(
    batch_size=64, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(_dataset, ann_file='label-train.csv'))
# MER2024 ships no val split: the MER protocol picks each model's epoch on a
# held-out fold of train (tools/cross_validate.py builds that val loop per
# fold). A plain tools/train.py run trains every epoch without validation and
# tests its final weights.
val_dataloader = None
test_dataloader = dict(
    batch_size=256, num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_dataset, ann_file='label-test.csv'))
val_evaluator = None
test_evaluator = dict(type='EmotionMetric')
