# Stage 2 of arXiv 2508.03722: the stage-1 network of concat_fusion.py
# (same submodule names, so a stage-1 checkpoint fills it) plus the prior
# branch of eqs. 10-11. Only the prior branch trains; see
# mer_toolbox/models/classifiers/prior_guided_classifier.py and docs/stage2.md.
_base_ = ['concat_fusion.py']

model = dict(
    type='PriorGuidedEmotionClassifier',
    # Cached prior embedding sizes: video = 58 FACS AU multi-hot + text
    # embedding, audio / text = text embedding (demo: HashingTextEmbedder 128).
    prior_dims=dict(video=58 + 128, audio=128, text=128),
    prior_encoder=dict(type='PriorProjector', num_layers=1, dropout=0.1),
    prior_neck=dict(type='PriorGuidedFusionNeck', hidden_dim=128,
                    num_layers=1, num_heads=4, mlp_ratio=2.0, dropout=0.1),
    # The paper freezes encoders, projectors, stage-1 fusion and classifier.
    frozen=['input_norms', 'encoders', 'neck', 'head', 'contrastive_proj'],
    prior_dropout=0.2,
    drop_priors_at_test=False,
    # The embedder the prior cache was built with; used only for raw prior
    # records (single-clip inference). Must match the cache.
    prior_embedder=dict(type='HashingTextEmbedder', dim=128),
    # BDCL is a stage-1 loss; stage 2 trains with the head's CE only, on
    # unmixed clips (a clip's prior belongs to that clip alone), with every
    # modality the clip has (the prior branch has its own prior_dropout).
    aux_losses=[],
    contrastive_dim=None,
    mixup_alpha=0.0,
    modality_dropout=0.0)
