"""Decode clips with PyAV's bundled FFmpeg: sampled RGB frames, 16 kHz mono audio.

Nothing here needs a system FFmpeg: ``av`` wheels ship their own libraries.
Every data problem raises :class:`~mer_toolbox.fileio.clip_errors.ClipError` with a
countable reason (unreadable path, corrupt file, zero-length clip, no video /
audio stream); ``av`` is imported on first use so importing this module stays
cheap.

Frame sampling (:func:`select_frame_indices`):

* ``num_frames=N``: ``N`` frames spread uniformly over the clip (the centre of
  ``N`` equal segments); a clip with fewer frames gives all of them, never
  duplicates.
* ``fps=F``: the frame nearest to each ``k / F`` second of the clip.
* neither: every frame. ``max_frames`` caps any choice by uniform subsampling.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from ..fileio.clip_errors import (CORRUPT_FILE, NO_AUDIO, NO_VIDEO,
                                  UNREADABLE_PATH, ZERO_LENGTH, ClipError)

#: Sample rate every audio encoder of the default recipe expects.
DEFAULT_SAMPLE_RATE = 16000


@dataclass
class VideoFrames:
    """Sampled frames of one clip.

    Attributes:
        frames: ``(T, H, W, 3)`` uint8 RGB.
        times: ``(T,)`` float seconds from the start of the stream.
        indices: ``(T,)`` positions of the frames among all decoded frames.
        num_source_frames: frames the stream holds (its packet count).
    """
    frames: np.ndarray
    times: np.ndarray
    indices: np.ndarray
    num_source_frames: int


def _open(path: str):
    """Open ``path`` with PyAV, turning every failure into a ClipError."""
    import av
    if not osp.exists(path):
        raise ClipError(UNREADABLE_PATH, f'{path} does not exist')
    if not osp.isfile(path) or not os.access(path, os.R_OK):
        raise ClipError(UNREADABLE_PATH, f'{path} is not a readable file')
    if osp.getsize(path) == 0:
        raise ClipError(ZERO_LENGTH, f'{path} is an empty file (0 bytes)')
    try:
        return av.open(path)
    except av.FFmpegError as err:
        raise ClipError(CORRUPT_FILE, f'{path}: FFmpeg cannot open it '
                        f'({err})') from err
    except OSError as err:
        raise ClipError(UNREADABLE_PATH, f'{path}: {err}') from err


def select_frame_indices(times: np.ndarray, fps: Optional[float] = None,
                         num_frames: Optional[int] = None,
                         max_frames: Optional[int] = None) -> np.ndarray:
    """Choose which of a clip's frames to keep (see module doc).

    Args:
        times: ``(N,)`` presentation times in seconds, ascending.
        fps: sample this many frames per second (nearest frame per tick).
        num_frames: sample this many frames uniformly instead.
        max_frames: upper bound on the result, applied last.

    Returns:
        ``(T,)`` ascending, unique int64 indices into ``times``.
    """
    n = len(times)
    if fps is not None and num_frames is not None:
        raise ValueError('give either fps or num_frames, not both')
    if num_frames is not None:
        if num_frames <= 0:
            raise ValueError(f'num_frames must be positive, got {num_frames}')
        picked = _uniform(n, num_frames)
    elif fps is not None:
        if fps <= 0:
            raise ValueError(f'fps must be positive, got {fps}')
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        ticks = np.arange(times[0], times[-1] + 1e-9, 1.0 / fps)  # (K,)
        right = np.clip(np.searchsorted(times, ticks), 1, max(n - 1, 1))
        left = right - 1
        nearest = np.where(np.abs(times[np.minimum(right, n - 1)] - ticks) <
                           np.abs(times[left] - ticks), right, left)
        picked = np.unique(np.minimum(nearest, n - 1))
    else:
        picked = np.arange(n, dtype=np.int64)
    if max_frames is not None and len(picked) > max_frames:
        picked = picked[_uniform(len(picked), max_frames)]
    return picked.astype(np.int64)


def _uniform(n: int, k: int) -> np.ndarray:
    if n <= k:
        return np.arange(n, dtype=np.int64)
    return np.floor((np.arange(k) + 0.5) * n / k).astype(np.int64)


def _packet_times(container, stream) -> np.ndarray:
    """Presentation times (s) of all video packets, sorted: a cheap demux."""
    stamps, missing = [], False
    for packet in container.demux(stream):
        if packet.size == 0:  # the flush packet at the end
            continue
        pts = packet.pts if packet.pts is not None else packet.dts
        missing |= pts is None
        stamps.append(pts if pts is not None else 0)
    if missing or stream.time_base is None:
        rate = float(stream.average_rate or 25)
        return np.arange(len(stamps), dtype=np.float64) / rate
    start = stream.start_time or 0
    return (np.sort(np.asarray(stamps, dtype=np.float64)) - start) * \
        float(stream.time_base)


def read_video(path: str, fps: Optional[float] = None,
               num_frames: Optional[int] = None,
               max_frames: Optional[int] = None,
               max_side: Optional[int] = None) -> VideoFrames:
    """Decode the sampled frames of the first video stream of ``path``.

    Only the chosen frames are converted to RGB, so sampling 16 frames out of
    a long clip costs one decode pass and 16 conversions.

    Args:
        path: video file.
        fps / num_frames / max_frames: sampling, see :func:`select_frame_indices`.
        max_side: downscale frames whose longer side exceeds this (keeps the
            aspect ratio); ``None`` keeps the source resolution.

    Raises:
        ClipError: unreadable path, corrupt file, no video stream, or no frame.
    """
    import av
    with _open(path) as container:
        if not container.streams.video:
            raise ClipError(NO_VIDEO, f'{path} has no video stream')
        try:
            times = _packet_times(container, container.streams.video[0])
        except av.FFmpegError as err:
            raise ClipError(CORRUPT_FILE, f'{path}: demuxing failed '
                            f'({err})') from err
    if len(times) == 0:
        raise ClipError(ZERO_LENGTH, f'{path}: the video stream has 0 frames')
    picked = select_frame_indices(times, fps, num_frames, max_frames)
    wanted = set(picked.tolist())
    frames: List[np.ndarray] = []
    kept: List[int] = []
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = 'AUTO'
        try:
            for i, frame in enumerate(container.decode(stream)):
                if i in wanted:
                    frames.append(_to_rgb(frame, max_side))
                    kept.append(i)
                if i >= picked[-1]:
                    break
        except av.FFmpegError as err:
            raise ClipError(CORRUPT_FILE, f'{path}: decoding failed at frame '
                            f'{len(kept)} ({err})') from err
    if not frames:
        raise ClipError(CORRUPT_FILE, f'{path}: {len(times)} video packets '
                        'but no frame could be decoded')
    kept_arr = np.asarray(kept, dtype=np.int64)
    return VideoFrames(frames=np.stack(frames),  # (T, H, W, 3)
                       times=times[np.minimum(kept_arr, len(times) - 1)],
                       indices=kept_arr, num_source_frames=len(times))


def _to_rgb(frame, max_side: Optional[int]) -> np.ndarray:
    width, height = frame.width, frame.height
    if max_side is not None and max(width, height) > max_side:
        scale = max_side / max(width, height)
        width = max(2, int(round(width * scale)))
        height = max(2, int(round(height * scale)))
        frame = frame.reformat(width=width, height=height)
    return frame.to_ndarray(format='rgb24')  # (H, W, 3) uint8


def read_audio(path: str, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Decode the first audio stream of ``path`` as mono float32 at ``sample_rate``.

    Resampling and down-mixing are FFmpeg's (``av.AudioResampler``), so any
    codec / layout / rate FFmpeg reads works.

    Returns:
        ``(S,)`` float32 samples in [-1, 1].

    Raises:
        ClipError: unreadable path, corrupt file, no audio stream, 0 samples.
    """
    import av
    with _open(path) as container:
        if not container.streams.audio:
            raise ClipError(NO_AUDIO, f'{path} has no audio stream')
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format='flt', layout='mono',
                                      rate=sample_rate)
        chunks: List[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):  # flush the resampler
                chunks.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError as err:
            raise ClipError(CORRUPT_FILE, f'{path}: audio decoding failed '
                            f'({err})') from err
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise ClipError(ZERO_LENGTH, f'{path}: the audio stream decoded to '
                        '0 samples')
    return samples.astype(np.float32, copy=False)
