# Table 2 ablation: the text modality alone (BDCL keeps only its intra term).
_base_ = ['../bdcl_stage1.py']

modalities = ['text']
model = dict(modalities=modalities)
train_dataloader = dict(dataset=dict(modalities=modalities))
val_dataloader = dict(dataset=dict(modalities=modalities))
test_dataloader = dict(dataset=dict(modalities=modalities))
