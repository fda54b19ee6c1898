# Stage 2 of arXiv 2508.03722 on the embedded demo data: freeze the stage-1
# network, train the prior branch (eqs. 10-11) on the simulated teacher's
# priors (mer_toolbox/datasets/demo_priors.py, generated on first use).
#   python tools/train.py configs/bdcl_stage1.py       # stage 1 first
#   python tools/train.py configs/prior_stage2.py      # then stage 2
#   python tools/train_two_stage.py configs/bdcl_stage1.py configs/prior_stage2.py
# Test without any prior (teacher-free inference):
#   python tools/test.py configs/prior_stage2.py CKPT \
#       --cfg-options model.drop_priors_at_test=True
_base_ = [
    '_base_/default_runtime.py', '_base_/datasets/mer_demo.py',
    '_base_/models/prior_guided_fusion.py', '_base_/schedules/adam_20e_stage2.py'
]

# Where `tools/train.py configs/bdcl_stage1.py` saves; a work dir resolves to
# its best checkpoint (else its last), see StageOneCheckpointHook.
load_from = 'work_dirs/bdcl_stage1'

# Stage 2 trains on the labelled clips (the pool has no teacher priors).
train_dataloader = dict(dataset=dict(with_priors=True))
val_dataloader = dict(dataset=dict(with_priors=True))
test_dataloader = dict(dataset=dict(with_priors=True))

# Input statistics come from the stage-1 checkpoint (no FeatureNormHook: they
# are frozen with the rest of the stage-1 network).
# ClassCountHook: the frozen head's logit-adjusted loss needs the class prior.
custom_hooks = [dict(type='StageOneCheckpointHook'),
                dict(type='ClassCountHook'),
                dict(type='EpochSeedHook')]
