optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=40, by_epoch=True,
                        eta_min=1e-5)]
train_cfg = dict(by_epoch=True, max_epochs=40, val_interval=1)
val_cfg = dict()
test_cfg = dict()
