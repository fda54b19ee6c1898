# MER2024 "Attention" baseline shape: per-modality MLP encoders -> attention
# fusion -> linear classifier, trained with cross-entropy.
model = dict(
    type='MultimodalEmotionClassifier',
    modalities=['video', 'audio', 'text'],
    feature_dims=dict(video=64, audio=48, text=32),
    encoders=dict(type='MLPFeatureProjector', hidden_dim=128, num_layers=2,
                  dropout=0.3),
    neck=dict(type='AttentionFusionNeck', dropout=0.2),
    head=dict(type='LinearClsHead', num_classes=6, dropout=0.3,
              loss=dict(type='CrossEntropyLoss')),
    aux_losses=[],
    contrastive_dim=None,
    normalize_inputs=True)
