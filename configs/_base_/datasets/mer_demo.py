# The embedded demo data (generated into data_root on first use); MER-like
# 6-class features in the MERTools layout. See mer_toolbox/datasets/demo.py.
data_root = 'data/mer_demo'
modalities = ['video', 'audio', 'text']

train_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='DemoMERDataset', split='train', data_root=data_root,
                 modalities=modalities))
val_dataloader = dict(
    batch_size=256, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='DemoMERDataset', split='val', data_root=data_root,
                 modalities=modalities))
test_dataloader = dict(
    batch_size=256, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='DemoMERDataset', split='test', data_root=data_root,
                 modalities=modalities))
# The full table is printed at test time; validation logs the scalars only.
val_evaluator = dict(type='EmotionMetric', print_table=False)
test_evaluator = dict(type='EmotionMetric')
