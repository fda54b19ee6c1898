"""A clip's media as a chat-model teacher takes it: frames, audio, prosody.

Chat models (OpenAI-compatible servers, local transformers MLLMs) take images,
not videos, so a clip becomes ``num_frames`` face frames sampled evenly over
it:

* from a folder of face crops, ``<frame_dir>/<name>/*.{jpg,jpeg,png}`` (what
  MERTools' OpenFace step writes), sent byte for byte; or
* decoded from the clip's video with PyAV (``media`` extra) and encoded as
  JPEG.

Audio goes as 16 kHz mono WAV where the model takes audio; otherwise as a
text description of its prosody (:func:`describe_prosody`), measured from the
clip's audio (:func:`measure_prosody`) or read from a prosody statistics file
(the offline teacher's format).
"""
import io
import os
import os.path as osp
import wave
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional

import numpy as np

from ..fileio.clip_list import Clip
from .prompt import PROMPT_VERSION

#: Revision of the notes chat teachers add to the prompt (frames, audio).
CHAT_PROMPT_REVISION = 'chat1'
#: How a chat teacher gets the audio: a prosody text, a WAV part, nothing.
AUDIO_MODES = ('prosody', 'input_audio', 'none')
IMAGE_EXTS = {'.jpg': 'image/jpeg', '.jpeg': 'image/jpeg',
              '.png': 'image/png'}


class MissingMedia(FileNotFoundError):
    """A clip's frames or audio cannot be found or decoded."""


@dataclass(frozen=True)
class Image:
    """One encoded frame: ``data`` bytes of MIME type ``mime``."""
    data: bytes
    mime: str


def _even(n: int, k: int) -> List[int]:
    """``k`` indices spread evenly over ``range(n)`` (segment centres)."""
    if n <= k:
        return list(range(n))
    return [int((i + 0.5) * n / k) for i in range(k)]


def clip_frames(clip: Clip, num_frames: int = 8,
                frame_dir: Optional[str] = None,
                max_side: Optional[int] = 448) -> List[Image]:
    """``num_frames`` frames of ``clip`` in time order.

    Args:
        clip: the clip (its ``video`` is decoded when ``frame_dir`` is None).
        num_frames: frames to sample (fewer when the clip has fewer).
        frame_dir: folder of per-clip face-crop folders; None: decode video.
        max_side: decoded frames are downscaled to this longer side.

    Raises:
        MissingMedia: no frame folder / video, or nothing decodable in it.
    """
    if frame_dir is not None:
        folder = osp.join(frame_dir, clip.name)
        names = sorted(f for f in os.listdir(folder)
                       if osp.splitext(f)[1].lower() in IMAGE_EXTS) \
            if osp.isdir(folder) else []
        if not names:
            raise MissingMedia(f'no face frames (.jpg / .png) in {folder}')
        picked = [names[i] for i in _even(len(names), num_frames)]
        images = []
        for name in picked:
            with open(osp.join(folder, name), 'rb') as f:
                images.append(Image(f.read(), IMAGE_EXTS[
                    osp.splitext(name)[1].lower()]))
        return images
    if clip.video is None or not osp.isfile(clip.video):
        raise MissingMedia(f'video not found: {clip.video}')
    from PIL import Image as PILImage

    from ..fileio.clip_errors import ClipError
    from ..media.decode import read_video
    try:
        frames = read_video(clip.video, num_frames=num_frames,
                            max_side=max_side).frames  # (T, H, W, 3)
    except ClipError as err:
        raise MissingMedia(str(err)) from err
    images = []
    for frame in frames:
        buffer = io.BytesIO()
        PILImage.fromarray(frame).save(buffer, format='JPEG', quality=90)
        images.append(Image(buffer.getvalue(), 'image/jpeg'))
    return images


def clip_audio(clip: Clip, sample_rate: int = 16000) -> np.ndarray:
    """The clip's audio, ``(S,)`` float32 mono at ``sample_rate``.

    Raises:
        MissingMedia: no video, or no decodable audio stream.
    """
    if clip.video is None or not osp.isfile(clip.video):
        raise MissingMedia(f'video not found: {clip.video}')
    from ..fileio.clip_errors import ClipError
    from ..media.decode import read_audio
    try:
        return read_audio(clip.video, sample_rate)
    except ClipError as err:
        raise MissingMedia(str(err)) from err


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """``(S,)`` float samples in [-1, 1] as a 16-bit PCM WAV file."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype('<i2')  # (S,)
    buffer = io.BytesIO()
    with wave.open(buffer, 'wb') as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def measure_prosody(samples: np.ndarray, sample_rate: int,
                    frame_s: float = 0.04, fmin: float = 70.0,
                    fmax: float = 400.0) -> Dict[str, float]:
    """Loudness and pitch statistics of ``(S,)`` mono samples.

    Loudness: mean RMS in dBFS over frames louder than -50 dBFS. Pitch: per
    loud frame, the autocorrelation peak between ``fmin`` and ``fmax`` Hz,
    kept when it is at least half the frame's energy (voiced); mean and std
    over voiced frames. A rough estimator, enough to tell a flat voice from
    an animated one; use the prosody file for openSMILE / Praat figures.

    Returns:
        Some of ``energy_db``, ``pitch_mean_hz``, ``pitch_std_hz`` (none for
        silence).
    """
    size = int(frame_s * sample_rate)
    count = len(samples) // size
    if count == 0:
        return {}
    frames = samples[:count * size].reshape(count, size).astype(np.float64)
    frames = frames - frames.mean(axis=1, keepdims=True)  # (F, size)
    rms = np.sqrt((frames ** 2).mean(axis=1))  # (F,)
    db = 20 * np.log10(np.maximum(rms, 1e-10))
    loud = db > -50
    if not loud.any():
        return {}
    out = {'energy_db': float(db[loud].mean())}
    lo, hi = int(sample_rate / fmax), min(size - 1, int(sample_rate / fmin))
    pitches = []
    for frame in frames[loud]:
        spectrum = np.fft.rfft(frame, 2 * size)
        corr = np.fft.irfft(np.abs(spectrum) ** 2)[:size]  # (size,)
        lag = lo + int(np.argmax(corr[lo:hi]))
        if corr[0] > 0 and corr[lag] >= 0.5 * corr[0]:
            pitches.append(sample_rate / lag)
    if pitches:
        out['pitch_mean_hz'] = float(np.mean(pitches))
        out['pitch_std_hz'] = float(np.std(pitches))
    return out


_PROSODY_TEXT = (('pitch_mean_hz', 'mean pitch {:.0f} Hz'),
                 ('pitch_std_hz', 'pitch variation (std) {:.0f} Hz'),
                 ('energy_db', 'loudness {:.1f} dBFS'),
                 ('speech_rate', 'speech rate {:.1f} syllables/s'))


def describe_prosody(values: Optional[Mapping[str, float]]) -> str:
    """The text that stands in for the audio when the model cannot hear it."""
    parts = [text.format(values[key]) for key, text in _PROSODY_TEXT
             if values and values.get(key) is not None]
    if not parts:
        return ('The audio is not available: base prosody_reasoning on what '
                'the frames and the transcript allow, and say that the voice '
                'was not heard.')
    return ('The audio is not attached; its prosody, measured: '
            + ', '.join(parts) + '. Use these figures for prosody_reasoning.')


def chat_prompt_version(audio: str) -> str:
    """The ``prompt_version`` of a chat teacher sending audio as ``audio``."""
    if audio not in AUDIO_MODES:
        raise ValueError(f'audio must be one of {AUDIO_MODES}, got {audio!r}')
    return f'{PROMPT_VERSION}-{CHAT_PROMPT_REVISION}-{audio}'


def frames_note(count: int) -> str:
    """The text that introduces the frames (they replace the video)."""
    return (f'The video is given as {count} face frames sampled evenly over '
            'the clip, in time order.')


def prosody_note(clip: Clip, known: Mapping[str, Mapping[str, float]],
                 sample_rate: int = 16000) -> str:
    """:func:`describe_prosody` of ``known[clip.name]``, else measured from
    the clip's audio (blocking: decodes)."""
    if clip.name in known:
        return describe_prosody(known[clip.name])
    try:
        samples = clip_audio(clip, sample_rate)
    except MissingMedia:  # a clip without sound: say so
        return describe_prosody(None)
    return describe_prosody(measure_prosody(samples, sample_rate))


class ChatMedia:
    """How a chat teacher shows a clip: face frames and an audio note.

    Args:
        num_frames: frames per clip.
        frame_dir: folder of ``<name>/*.jpg|png`` face crops; None decodes
            the clip's video.
        frame_max_side: decoded frames are downscaled to this longer side.
        audio: one of :data:`AUDIO_MODES`.
        prosody_file: per-clip prosody statistics (the offline teacher's
            CSV / JSON); clips it lacks are measured from their audio.
        sample_rate: sample rate of decoded audio.
    """

    def __init__(self, num_frames: int = 8, frame_dir: Optional[str] = None,
                 frame_max_side: Optional[int] = 448, audio: str = 'prosody',
                 prosody_file: Optional[str] = None,
                 sample_rate: int = 16000) -> None:
        self.prompt_version = chat_prompt_version(audio)  # checks ``audio``
        self.num_frames = num_frames
        self.frame_dir = frame_dir
        self.frame_max_side = frame_max_side
        self.audio = audio
        self.prosody_file = prosody_file
        self.sample_rate = sample_rate
        self._prosody: Optional[Dict[str, Dict[str, float]]] = None

    def frames(self, clip: Clip) -> List[Image]:
        """See :func:`clip_frames` (raises :class:`MissingMedia`)."""
        return clip_frames(clip, self.num_frames, self.frame_dir,
                           self.frame_max_side)

    def audio_note(self, clip: Clip) -> str:
        """The prosody text (``'prosody'``) or the no-audio note."""
        if self.audio == 'none':
            return describe_prosody(None)
        if self._prosody is None:  # read once, on the first clip
            from .offline_inputs import read_prosody
            self._prosody = (read_prosody(self.prosody_file)
                             if self.prosody_file is not None else {})
        return prosody_note(clip, self._prosody, self.sample_rate)

    def wav(self, clip: Clip) -> Optional[bytes]:
        """The clip's audio as WAV bytes; None for a clip without sound."""
        try:
            return wav_bytes(clip_audio(clip, self.sample_rate),
                             self.sample_rate)
        except MissingMedia:
            return None

    def describe(self) -> str:
        source = f'from {self.frame_dir}' if self.frame_dir else 'decoded'
        return (f'{self.num_frames} face frames ({source}), audio as '
                f'{self.audio}')
