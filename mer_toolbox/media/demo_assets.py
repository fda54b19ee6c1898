"""Synthetic clips and tiny random checkpoints for tests, benchmarks and docs.

Nothing here is downloaded: clips are written with PyAV (a moving pattern and
a tone), checkpoints are random tiny models saved with ``save_pretrained`` /
``timm.models.save_for_hf`` so they load through exactly the code path real
checkpoints use. ``python -m mer_toolbox.media.demo_assets OUT`` writes
everything ``configs/extraction/tiny_demo.py`` expects under ``OUT``.
"""
import argparse
import csv
import fractions
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import numpy as np


def write_synthetic_clip(path: str, seconds: float = 1.0, fps: int = 10,
                         size: Tuple[int, int] = (96, 64), audio: bool = True,
                         video: bool = True, sample_rate: int = 16000,
                         tone_hz: float = 440.0, codec: str = 'libx264') -> str:
    """Write an mp4 with a moving square over a gradient and a sine tone.

    Args:
        path: output file.
        seconds: duration.
        fps: video frame rate.
        size: ``(width, height)``; even numbers for yuv420p.
        audio / video: include that stream.
        sample_rate / tone_hz: the AAC tone.
        codec: video encoder (``'libx264'``; ``'mpeg4'`` if a build lacks it).
    """
    import av
    width, height = size
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with av.open(path, 'w') as container:
        vstream = astream = None
        if video:
            vstream = container.add_stream(codec, rate=fps)
            vstream.width, vstream.height, vstream.pix_fmt = width, height, 'yuv420p'
        if audio:
            astream = container.add_stream('aac', rate=sample_rate)
            astream.layout = 'mono'
        if video:
            ramp = np.linspace(0, 160, width, dtype=np.float32)[None, :]
            for i in range(int(round(seconds * fps))):
                img = np.empty((height, width, 3), np.uint8)
                img[...] = (ramp + 4 * i).astype(np.uint8)[..., None]  # (H, W, 3)
                side = max(4, height // 3)
                x = int((i * 5) % max(1, width - side))
                img[height // 3:height // 3 + side, x:x + side] = (230, 60, 40)
                frame = av.VideoFrame.from_ndarray(img, format='rgb24')
                container.mux(vstream.encode(frame))
            container.mux(vstream.encode())
        if audio:
            n = int(round(seconds * sample_rate))
            wave = (0.3 * np.sin(2 * np.pi * tone_hz * np.arange(n) /
                                 sample_rate)).astype(np.float32)
            for start in range(0, n, 1024):
                frame = av.AudioFrame.from_ndarray(
                    wave[None, start:start + 1024], format='flt', layout='mono')
                frame.sample_rate, frame.pts = sample_rate, start
                frame.time_base = fractions.Fraction(1, sample_rate)
                container.mux(astream.encode(frame))
            container.mux(astream.encode())
    return path


def _tiny_tokenizer(texts: Sequence[str]):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    tok = Tokenizer(models.BPE(unk_token='<unk>'))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=['<unk>', '<s>', '</s>', '<pad>'],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts), trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token='<unk>',
                                   bos_token='<s>', eos_token='</s>',
                                   pad_token='<pad>')


SAMPLE_TEXTS = ('I am so happy today!', 'Why would you do that to me?',
                'It is fine, really.', '我今天很高兴。', '你为什么这么做？',
                'Oh no, that is terrible news.')


#: Output sizes that match the embedded demo data's features
#: (``DEMO_FEATURE_DIMS``: video 64, audio 48, text 32), so a model trained by
#: ``tools/train.py configs/bdcl_stage1.py`` accepts what these encoders give.
DEMO_MATCHED_DIMS = {'clip': 64, 'hubert': 48, 'bloom': 32}


def build_tiny_checkpoints(folder: str, hidden: int = 32, layers: int = 2,
                           kinds: Sequence[str] = ('clip', 'hubert', 'bloom',
                                                   'timm'),
                           out_dims: Optional[Dict[str, int]] = None
                           ) -> Dict[str, str]:
    """Save random tiny CLIP / HuBERT / BLOOM / timm checkpoints under ``folder``.

    Args:
        out_dims: feature size per kind, overriding the default (CLIP's
            projection 16, ``hidden`` for HuBERT and BLOOM), e.g.
            :data:`DEMO_MATCHED_DIMS`.

    Returns:
        ``{kind: checkpoint folder}``.
    """
    import torch
    torch.manual_seed(0)
    out_dims = dict(out_dims or {})

    def small(kind: str) -> dict:
        width = out_dims.get(kind, hidden) if kind != 'clip' else hidden
        return dict(hidden_size=width, num_hidden_layers=layers,
                    num_attention_heads=2, intermediate_size=2 * width)
    out = {}
    if 'clip' in kinds:  # a full CLIP checkpoint, like openai/clip-vit-*
        from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel
        projection = out_dims.get('clip', 16)
        cfg = CLIPConfig(text_config=dict(vocab_size=99, bos_token_id=1,
                                             eos_token_id=2, pad_token_id=0,
                                             **small('clip')),
                         vision_config=dict(image_size=32, patch_size=8,
                                            projection_dim=projection,
                                            **small('clip')),
                         projection_dim=projection)
        out['clip'] = osp.join(folder, 'tiny-clip')
        CLIPModel(cfg).save_pretrained(out['clip'])
        CLIPImageProcessor(size={'shortest_edge': 32},
                           crop_size={'height': 32, 'width': 32}
                           ).save_pretrained(out['clip'])
    if 'hubert' in kinds:
        from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor
        cfg = HubertConfig(conv_dim=(16, 16, 16), conv_stride=(5, 8, 8),
                           conv_kernel=(10, 8, 8), num_conv_pos_embeddings=16,
                           num_conv_pos_embedding_groups=2,
                           feat_extract_norm='layer', do_stable_layer_norm=True,
                           **small('hubert'))
        out['hubert'] = osp.join(folder, 'tiny-hubert')
        HubertModel(cfg).save_pretrained(out['hubert'])
        Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True
                                 ).save_pretrained(out['hubert'])
    if 'bloom' in kinds:
        from transformers import BloomConfig, BloomForCausalLM
        out['bloom'] = osp.join(folder, 'tiny-bloom')
        BloomForCausalLM(BloomConfig(vocab_size=400,
                                     hidden_size=out_dims.get('bloom', hidden),
                                     n_layer=layers, n_head=2)
                         ).save_pretrained(out['bloom'])
        _tiny_tokenizer(SAMPLE_TEXTS).save_pretrained(out['bloom'])
    if 'timm' in kinds:
        import timm
        from timm.models import save_for_hf
        args = dict(img_size=32, patch_size=8, embed_dim=hidden, depth=layers,
                    num_heads=2)
        model = timm.create_model('vit_tiny_patch16_224', pretrained=False,
                                  **args)
        out['timm'] = osp.join(folder, 'tiny-vit')
        save_for_hf(model, out['timm'], model_args=args,
                    safe_serialization=True)
    return out


def make_demo(folder: str, num_clips: int = 4, seconds: float = 1.0,
              models: Optional[Dict[str, str]] = None,
              out_dims: Optional[Dict[str, int]] = None) -> Dict[str, str]:
    """Clips, a clip list, subtitles and tiny checkpoints for the tiny demo.

    Layout: ``clips/clip_XXX.mp4``, ``clips.csv`` (name), ``subtitles.csv``
    (name, chinese, english), ``models/tiny-*``. ``out_dims`` as in
    :func:`build_tiny_checkpoints`.
    """
    paths = dict(models or build_tiny_checkpoints(osp.join(folder, 'models'),
                                                  out_dims=out_dims))
    rows = []
    for i in range(num_clips):
        name = f'clip_{i:03d}'
        write_synthetic_clip(osp.join(folder, 'clips', f'{name}.mp4'),
                             seconds=seconds, tone_hz=220.0 * (i + 1))
        rows.append((name, SAMPLE_TEXTS[3 + i % 3], SAMPLE_TEXTS[i % 3]))
    with open(osp.join(folder, 'clips.csv'), 'w', newline='',
              encoding='utf-8') as f:
        csv.writer(f).writerows([('name',)] + [(r[0],) for r in rows])
    with open(osp.join(folder, 'subtitles.csv'), 'w', newline='',
              encoding='utf-8') as f:
        csv.writer(f).writerows([('name', 'chinese', 'english')] + rows)
    paths.update(clips=osp.join(folder, 'clips'),
                 list_file=osp.join(folder, 'clips.csv'),
                 subtitles=osp.join(folder, 'subtitles.csv'))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', help='folder to write the demo into')
    parser.add_argument('--num-clips', type=int, default=4)
    parser.add_argument('--match-demo-features', action='store_true',
                        help='encoders whose outputs have the sizes of the '
                        'embedded demo data (video 64, audio 48, text 32), '
                        'so tools/infer.py runs a model trained on it')
    args = parser.parse_args()
    dims = DEMO_MATCHED_DIMS if args.match_demo_features else None
    for key, value in make_demo(args.out, args.num_clips,
                                out_dims=dims).items():
        print(f'{key}: {value}')


if __name__ == '__main__':
    main()
