"""FeatureExtractor: one real clip through decode -> faces -> tiny encoders."""
import numpy as np
import pytest

from mer_toolbox.fileio.clip_errors import ClipError
from mer_toolbox.media import FeatureExtractor
from mer_toolbox.fileio import clip_errors
from media_fixtures import hub_offline, media_dir, tiny_models  # noqa: F401 fixtures


def sets(models, kinds=('clip', 'timm', 'hubert', 'bloom')):
    types = dict(clip='CLIPVisionEncoder', timm='TimmImageEncoder',
                 hubert='HFAudioEncoder', bloom='HFTextEncoder')
    return [dict(encoder=dict(type=types[k], pretrained=models[k],
                              device='cpu')) for k in kinds]


VIDEO = dict(num_frames=4, faces=dict(size=48))


def test_one_clip_gives_every_feature_set(tiny_models, media_dir):
    extractor = FeatureExtractor(sets(tiny_models), video=VIDEO)
    assert extractor.folders() == ['tiny-clip-UTT', 'tiny-clip-FRA',
                                   'tiny-vit-UTT', 'tiny-vit-FRA',
                                   'tiny-hubert-UTT', 'tiny-bloom-UTT']
    result = extractor.extract(str(media_dir / 'good.mp4'), 'I am happy')
    assert not result.failures
    feats = result.features
    assert feats['tiny-clip-FRA'].shape == (4, 16)
    np.testing.assert_allclose(feats['tiny-clip-UTT'],
                               feats['tiny-clip-FRA'].mean(0), rtol=1e-6)
    assert feats['tiny-vit-UTT'].shape == (32,)
    assert feats['tiny-hubert-UTT'].shape == (32,)
    assert feats['tiny-bloom-UTT'].shape == (32,)
    assert all(v.dtype == np.float32 for v in feats.values())
    # the synthetic frames hold no face: whole frames, reported
    assert result.warnings[0][0] == 'no face found'
    assert {'decode_video', 'faces', 'decode_audio',
            'encode:tiny-clip'} <= set(extractor.timings)
    # the frame features really are the encoder on the crops
    again = extractor.extract_clip(str(media_dir / 'good.mp4'), 'I am happy')
    np.testing.assert_allclose(again['tiny-hubert-UTT'],
                               feats['tiny-hubert-UTT'], atol=1e-6)


def test_failures_hit_only_the_sets_that_need_the_input(tiny_models, media_dir):
    extractor = FeatureExtractor(sets(tiny_models, ('clip', 'hubert', 'bloom')),
                                 video=VIDEO)
    result = extractor.extract(str(media_dir / 'silent.mp4'), None)
    assert set(result.features) == {'tiny-clip-UTT', 'tiny-clip-FRA'}
    assert result.failures['tiny-hubert'].reason == clip_errors.NO_AUDIO
    assert result.failures['tiny-bloom'].reason == clip_errors.MISSING_SUBTITLE
    with pytest.raises(ClipError) as info:
        extractor.extract_clip(str(media_dir / 'silent.mp4'), 'hello')
    assert info.value.reason == clip_errors.NO_AUDIO
    assert 'silent.mp4' in str(info.value)
    result = extractor.extract(str(media_dir / 'garbage.mp4'), 'hello')
    assert {e.reason for e in result.failures.values()} == {clip_errors.CORRUPT_FILE}
    assert 'tiny-bloom-UTT' in result.features
    only = extractor.extract(str(media_dir / 'good.mp4'), 'hi',
                             only=['tiny-bloom'])
    assert set(only.features) == {'tiny-bloom-UTT'}


def test_empty_subtitle_policy(tiny_models, media_dir):
    path = str(media_dir / 'good.mp4')
    strict = FeatureExtractor(sets(tiny_models, ('bloom',)))
    failure = strict.extract(path, '   ').failures['tiny-bloom']
    assert (failure.reason, failure.detail) == (clip_errors.MISSING_SUBTITLE,
                                                'the subtitle is empty')
    # 'encode' hands '' to the model; BLOOM's tokenizer has no token for it
    encode = FeatureExtractor(sets(tiny_models, ('bloom',)),
                              subtitle=dict(empty='encode'))
    failure = encode.extract(path, '').failures['tiny-bloom']
    assert 'no token' in failure.detail


def test_levels_names_and_overrides(tiny_models, media_dir):
    spec = [dict(name='audio-feats', levels=('FRA',),
                 encoder=dict(type='HFAudioEncoder', device='cpu',
                              pretrained=tiny_models['hubert']))]
    extractor = FeatureExtractor(spec, dtype='bfloat16')
    out = extractor.extract_clip(str(media_dir / 'good.mp4'))
    assert list(out) == ['audio-feats-FRA'] and out['audio-feats-FRA'].shape[1] == 32
    assert extractor.cropper is None  # no video set, no OpenCV needed
    with pytest.raises(ValueError, match='float16'):
        FeatureExtractor(spec, dtype='float16')


@pytest.mark.parametrize('kwargs,match', [
    (dict(video=dict(frames=3)), 'unknown keys'),
    (dict(subtitle=dict(empty='zeros')), 'subtitle.empty'),
    (dict(audio=dict(rate=8000)), 'unknown keys'),
    (dict(video=dict(fps=2, num_frames=8)), 'either fps or num_frames'),
    (dict(video=dict(faces=dict(on_no_face='skip'))), 'on_no_face'),
])
def test_bad_pipeline_config(tiny_models, kwargs, match):
    with pytest.raises(ValueError, match=match):
        FeatureExtractor(sets(tiny_models, ('clip', 'bloom')), **kwargs)


def test_bad_feature_sets(tiny_models):
    with pytest.raises(ValueError, match='empty'):
        FeatureExtractor([])
    with pytest.raises(ValueError, match='levels'):
        FeatureExtractor([dict(sets(tiny_models, ('bloom',))[0], levels=('XXX',))])
    with pytest.raises(ValueError, match='duplicate'):
        FeatureExtractor(sets(tiny_models, ('bloom', 'bloom')))
    with pytest.raises(KeyError, match='encoder registry'):
        FeatureExtractor([dict(encoder=dict(type='NoSuchEncoder'))])
