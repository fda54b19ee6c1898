# Table 2 ablation: the text modality alone (labelled data only; BDCL keeps only its intra term).
_base_ = ['ce_bdcl.py']

modalities = ['text']
model = dict(modalities=modalities)
train_dataloader = dict(dataset=dict(modalities=modalities))
val_dataloader = dict(dataset=dict(modalities=modalities))
test_dataloader = dict(dataset=dict(modalities=modalities))
