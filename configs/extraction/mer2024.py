# MER2024 recipe (paper: arXiv 2508.03722, MER2024 baseline features):
#   video: CLIP ViT-L/14 image embeddings (768-d) of face crops, mean over frames
#   audio: chinese-hubert-large, sum of the last 4 hidden layers, mean over time (1024-d)
#   text:  bloom-7b1 on the Chinese subtitle, sum of the last 4 layers, mean over tokens (4096-d)
# Hub ids are the defaults; replace them with local folders (e.g. a snapshot under
# ~/models) on machines without hub access. Run:
#   python tools/extract_features.py configs/extraction/mer2024.py --resume --pack
data_root = 'data/mer2024'

clips = dict(
    list_file=None,                               # or a CSV with `name` (e.g. the label CSV)
    video_root=data_root + '/video',              # <name>.mp4 / .avi
    subtitle_file=data_root + '/subtitle_chieng.csv',  # name,chinese,english
    subtitle_column='chinese')

video = dict(
    num_frames=16,  # 16 uniform frames per clip; fps=... or neither (every frame) also work
    # MTCNN: best recall on real clips (docs/extraction.md); its weights come
    # from scripts/install.sh. type='auto' falls back to dlib / Haar instead.
    faces=dict(detector=dict(type='mtcnn'), margin=0.2, size=224,
               on_no_face='whole_frame', detect_every=1))
audio = dict(sample_rate=16000)
subtitle = dict(empty='missing')  # an empty subtitle fails the text sets; 'encode' encodes ''

feature_sets = [
    dict(name='clip-vit-large-patch14',
         encoder=dict(type='CLIPVisionEncoder', pretrained='openai/clip-vit-large-patch14',
                      output='image_embeds', device='auto', dtype='auto', batch_size=32),
         levels=('UTT', 'FRA')),
    dict(name='chinese-hubert-large',
         encoder=dict(type='HFAudioEncoder', pretrained='TencentGameMate/chinese-hubert-large',
                      layers=[-4, -3, -2, -1], layer_combine='sum', chunk_seconds=20.0,
                      device='auto', dtype='auto', batch_size=4),
         levels=('UTT',)),
    dict(name='bloom-7b1',
         encoder=dict(type='HFTextEncoder', pretrained='bigscience/bloom-7b1',
                      layers=[-4, -3, -2, -1], layer_combine='sum', max_length=512,
                      device='auto', dtype='auto', batch_size=8),
         levels=('UTT',)),
]

output = dict(root='work_dirs/mer2024_features',
              pack_root='work_dirs/mer2024_features_packed')
