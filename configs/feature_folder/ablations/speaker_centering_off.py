# Ablation: the default recipe with features left uncentred even when the
# label files name each clip's speaker (the default centres them per speaker).
_base_ = ['../bdcl_stage1.py']
_off = dict(dataset=dict(speaker_centering=None))
train_dataloader = _off
val_dataloader = _off
test_dataloader = _off
