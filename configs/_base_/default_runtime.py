# Runtime shared by every recipe: MMEngine hooks, logging, seeding, DDP wrapper.
default_scope = 'mer_toolbox'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Small-data policy: the best checkpoint (by validation WAF) whenever it
    # improves, the last one at the end, and a resume point every 5 epochs
    # (only the newest kept): no full checkpoint written every epoch. Set
    # interval=1 to make a killed run lose less.
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=1,
                    save_last=True, save_best='emotion/waf', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# Input standardisation fitted on the labelled training split (stored in the
# checkpoint, mer_toolbox/engine/hooks/feature_norm_hook.py; the same hook
# hands the training class counts to class-aware losses), per-epoch seeds
# (exact resume), and early stopping once the validation WAF has not improved for 10
# epochs (small real sets peak early; the best checkpoint is kept either way).
custom_hooks = [
    dict(type='FeatureNormHook'),
    dict(type='EpochSeedHook'),
    dict(type='EarlyStoppingHook', monitor='emotion/waf', rule='greater',
         min_delta=0.0, patience=10),
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py initialises the process group itself (gloo on CPU-only
    # machines); this is only read when MMEngine has to do it.
    dist_cfg=dict(backend='nccl'),
)
# DDP that drops device_ids on CPU (mer_toolbox/engine/distributed.py).
model_wrapper_cfg = dict(type='mer_toolbox.MERDistributedDataParallel')

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=True, window_size=10)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
