# Tiny demo of tools/extract_features.py: random tiny checkpoints, synthetic clips.
# Create the data first (writes clips, subtitles and tiny models under data_root):
#   python -m mer_toolbox.media.demo_assets work_dirs/tiny_demo
#   python tools/extract_features.py configs/extraction/tiny_demo.py --pack
data_root = 'work_dirs/tiny_demo'
models = data_root + '/models'

clips = dict(
    list_file=data_root + '/clips.csv',      # CSV with `name` (+ optional path, subtitle)
    video_root=data_root + '/clips',         # where <name>.mp4 lives
    subtitle_file=data_root + '/subtitles.csv',  # MER2024 style: name,chinese,english
    subtitle_column='english')

video = dict(
    num_frames=8,  # N uniform frames per clip (or fps=...)
    faces=dict(detector=dict(type='opencv_haar'), margin=0.2, size=64,
               on_no_face='whole_frame'))
audio = dict(sample_rate=16000)
subtitle = dict(empty='missing')  # an empty subtitle fails the text sets; 'encode' encodes ''

feature_sets = [
    dict(encoder=dict(type='CLIPVisionEncoder', pretrained=models + '/tiny-clip',
                      device='cpu', batch_size=16),
         levels=('UTT', 'FRA')),
    dict(encoder=dict(type='TimmImageEncoder', pretrained=models + '/tiny-vit',
                      device='cpu', batch_size=16)),
    dict(encoder=dict(type='HFAudioEncoder', pretrained=models + '/tiny-hubert',
                      layers=[-2, -1], chunk_seconds=10.0, device='cpu')),
    dict(encoder=dict(type='HFTextEncoder', pretrained=models + '/tiny-bloom',
                      layers=[-2, -1], device='cpu')),
]

output = dict(root='work_dirs/tiny_demo_features',
              pack_root='work_dirs/tiny_demo_features_packed')
