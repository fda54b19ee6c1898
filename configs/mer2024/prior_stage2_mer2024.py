# Stage 2 (prior-guided tuning, eqs. 10-11) on real MER2024-SEMI features and
# teacher priors (see docs/stage2.md, docs/priors.md, docs/mer2024.md):
#   python tools/generate_priors.py configs/priors/gemini.py \
#       --store $MER2024_ROOT/priors/gemini-2.5-flash/priors.jsonl
#   MER2024_ROOT=/path/to/mer2024 python tools/train_two_stage.py \
#       configs/mer2024/bdcl_stage1_mer2024.py configs/mer2024/prior_stage2_mer2024.py
# or, with a finished stage 1 in work_dirs/bdcl_stage1_mer2024/:
#   MER2024_ROOT=/path/to/mer2024 python tools/train.py configs/mer2024/prior_stage2_mer2024.py
# or on the folds of a stage-1 cross-validation (member m starts from stage-1
# member m, which never saw fold m either):
#   MER2024_ROOT=/path/to/mer2024 python tools/cross_validate.py \
#       configs/mer2024/prior_stage2_mer2024.py --folds 5 \
#       --work-dir work_dirs/prior_stage2_mer2024_cv5 \
#       --load-from-cv work_dirs/bdcl_stage1_mer2024_cv5
_base_ = [
    '../_base_/default_runtime.py', '../_base_/datasets/mer2024.py',
    '../_base_/models/prior_guided_fusion.py',
    '../_base_/schedules/adam_20e_stage2.py'
]

# The embedding cache tools/generate_priors.py writes next to its store
# (<store>.emb), relative to data_root; MER2024_PRIORS (an absolute path, or
# one relative to data_root) points elsewhere.
prior_file = '{{$MER2024_PRIORS:priors/gemini-2.5-flash/priors.jsonl.emb}}'

# Must describe the stage-1 network of bdcl_stage1_mer2024.py exactly.
model = dict(
    feature_dims=dict(video=768, audio=1024, text=4096),
    encoders=dict(type='MLPFeatureProjector', hidden_dim=256, num_layers=2,
                  dropout=0.3),
    # all-MiniLM-L6-v2 sentence embeddings (384-d): video = 58 AUs + 384.
    prior_dims=dict(video=58 + 384, audio=384, text=384),
    prior_embedder=dict(type='SentenceEmbedder'),
    prior_neck=dict(hidden_dim=256, num_heads=8))

train_dataloader = dict(dataset=dict(prior_file=prior_file))
test_dataloader = dict(dataset=dict(prior_file=prior_file))

# No val split in MER2024: model selection is per fold (tools/cross_validate.py).
val_cfg = None

load_from = 'work_dirs/bdcl_stage1_mer2024'
custom_hooks = [
    dict(type='StageOneCheckpointHook',
         hint='Train stage 1 first: MER2024_ROOT=... python tools/train.py '
              'configs/mer2024/bdcl_stage1_mer2024.py (saves to '
              'work_dirs/bdcl_stage1_mer2024/), or set load_from.'),
    dict(type='ClassCountHook'),  # the frozen head's logit-adjusted loss
    dict(type='EpochSeedHook'),
]
