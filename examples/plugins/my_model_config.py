# configs/ablations/ce_bdcl.py with every model part swapped for a plugin from
# my_model_plugins.py (found next to this config, no PYTHONPATH needed):
#   python tools/train.py examples/plugins/my_model_config.py
_base_ = ['../../configs/ablations/ce_bdcl.py']

custom_imports = dict(imports=['my_model_plugins'], allow_failed_imports=False)

model = dict(
    encoders=dict(_delete_=True, type='ResidualMLPEncoder', hidden_dim=128),
    neck=dict(_delete_=True, type='GatedSumFusionNeck'),
    head=dict(_delete_=True, type='CosineClsHead', num_classes=6,
              loss=dict(type='FocalLoss', gamma=2.0)))
