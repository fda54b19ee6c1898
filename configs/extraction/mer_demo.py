# Encoders for trying tools/infer.py on a model trained on the embedded demo
# data (configs/bdcl_stage1.py): random tiny CLIP / HuBERT / BLOOM whose
# outputs have the demo's feature sizes (video 64, audio 48, text 32). The
# pipeline runs end to end; the predictions mean nothing (random encoders,
# a model trained on simulated features). Create the clips and encoders:
#   python -m mer_toolbox.media.demo_assets work_dirs/infer_demo --match-demo-features
# then (docs/inference.md):
#   python tools/infer.py configs/bdcl_stage1.py work_dirs/bdcl_stage1/epoch_80.pth \
#       work_dirs/infer_demo/clips/clip_000.mp4 --extract-config configs/extraction/mer_demo.py \
#       --subtitle 'I am so happy today!' \
#       --feature-map video=demo-video-UTT audio=demo-audio-UTT text=demo-text-UTT
data_root = 'work_dirs/infer_demo'
models = data_root + '/models'

clips = dict(
    list_file=data_root + '/clips.csv',
    video_root=data_root + '/clips',
    subtitle_file=data_root + '/subtitles.csv',
    subtitle_column='english')

video = dict(
    num_frames=8,
    faces=dict(detector=dict(type='opencv_haar'), margin=0.2, size=64,
               on_no_face='whole_frame'))
audio = dict(sample_rate=16000)
subtitle = dict(empty='missing')

feature_sets = [
    dict(name='demo-video', levels=('UTT', ),
         encoder=dict(type='CLIPVisionEncoder', pretrained=models + '/tiny-clip',
                      device='cpu', batch_size=16)),
    dict(name='demo-audio',
         encoder=dict(type='HFAudioEncoder', pretrained=models + '/tiny-hubert',
                      chunk_seconds=10.0, device='cpu')),
    dict(name='demo-text',
         encoder=dict(type='HFTextEncoder', pretrained=models + '/tiny-bloom',
                      device='cpu')),
]

output = dict(root='work_dirs/infer_demo_features')
