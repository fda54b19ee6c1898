"""Decoding real mp4 files with PyAV: frame sampling, 16 kHz audio, bad files."""
import numpy as np
import pytest

from mer_toolbox.fileio.clip_errors import ClipError
from mer_toolbox.media import read_audio, read_video, select_frame_indices
from mer_toolbox.fileio import clip_errors
from mer_toolbox.media.demo_assets import write_synthetic_clip
from media_fixtures import media_dir  # noqa: F401 fixtures


def test_uniform_frames_are_real_decoded_frames(media_dir):
    clip = read_video(str(media_dir / 'good.mp4'), num_frames=4)
    assert clip.frames.shape == (4, 64, 96, 3) and clip.frames.dtype == np.uint8
    # centres of 4 equal segments of 10 frames
    assert clip.indices.tolist() == [1, 3, 6, 8]
    np.testing.assert_allclose(clip.times, [0.1, 0.3, 0.6, 0.8], atol=1e-6)
    assert clip.num_source_frames == 10
    # the red square moves 5 px per frame: its left edge is found in each
    red = (clip.frames[..., 0] > 180) & (clip.frames[..., 1] < 120)
    left_edges = [np.where(r.any(0))[0].min() for r in red]
    np.testing.assert_allclose(left_edges, [5, 15, 30, 40], atol=2)


def test_fps_all_and_max_frames(media_dir):
    path = str(media_dir / 'good.mp4')
    assert read_video(path, fps=2.0).indices.tolist() == [0, 5]
    assert len(read_video(path).frames) == 10  # every frame
    assert len(read_video(path, num_frames=50).frames) == 10  # no duplicates
    assert read_video(path, max_frames=3).indices.tolist() == [1, 5, 8]
    assert read_video(path, num_frames=2, max_side=48).frames.shape == \
        (2, 32, 48, 3)


def test_select_frame_indices_rules():
    times = np.arange(25) / 25.0  # 1 s at 25 fps
    assert select_frame_indices(times, num_frames=5).tolist() == \
        [2, 7, 12, 17, 22]
    # ticks at 0, 0.25, 0.5, 0.75 s -> nearest frames
    assert select_frame_indices(times, fps=4).tolist() == [0, 6, 12, 19]
    assert select_frame_indices(times[:1], fps=4).tolist() == [0]
    assert len(select_frame_indices(times)) == 25
    with pytest.raises(ValueError, match='either fps or num_frames'):
        select_frame_indices(times, fps=1, num_frames=2)
    with pytest.raises(ValueError, match='positive'):
        select_frame_indices(times, num_frames=0)


def _peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1.0 / rate)[spectrum.argmax()])


def test_audio_is_16k_mono_float_with_the_tone(media_dir):
    samples = read_audio(str(media_dir / 'good.mp4'))
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert 16000 <= len(samples) <= 16000 + 2048  # AAC adds priming samples
    assert abs(_peak_hz(samples, 16000) - 440.0) < 3
    assert 0.2 < np.abs(samples).max() < 0.4


def test_audio_is_resampled_from_44k(tmp_path):
    path = write_synthetic_clip(str(tmp_path / 'hq.mp4'), sample_rate=44100,
                                tone_hz=1000.0)
    samples = read_audio(path, sample_rate=16000)
    assert abs(len(samples) - 16000) < 1200
    assert abs(_peak_hz(samples, 16000) - 1000.0) < 3


@pytest.mark.parametrize('name,reader,reason', [
    ('missing.mp4', read_video, clip_errors.UNREADABLE_PATH),
    ('empty.mp4', read_video, clip_errors.ZERO_LENGTH),
    ('garbage.mp4', read_video, clip_errors.CORRUPT_FILE),
    ('truncated.mp4', read_video, clip_errors.CORRUPT_FILE),
    ('garbage.mp4', read_audio, clip_errors.CORRUPT_FILE),
    ('silent.mp4', read_audio, clip_errors.NO_AUDIO),
    ('audio_only.mp4', read_video, clip_errors.NO_VIDEO),
])
def test_bad_files_raise_a_countable_reason(media_dir, name, reader, reason):
    with pytest.raises(ClipError) as info:
        reader(str(media_dir / name))
    assert info.value.reason == reason
    assert name in str(info.value)


def test_directory_is_unreadable(media_dir):
    with pytest.raises(ClipError) as info:
        read_video(str(media_dir))
    assert info.value.reason == clip_errors.UNREADABLE_PATH
