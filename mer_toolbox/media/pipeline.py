"""One clip in, features out: decode -> face crops -> encoders.

:class:`FeatureExtractor` is the reusable library half of
``tools/extract_features.py`` (which adds the clip loop, resume, logs and the
summary) and of single-clip inference. Each *feature set* is one encoder plus
the levels it writes, named MERTools-style: ``<name>-UTT`` holds ``(D,)``
utterance features (the mean over the clip's sequence), ``<name>-FRA`` holds
``(T, D)`` frame-level ones (face crops, 20 ms audio steps, or tokens).

Video sets share one decode and one set of face crops; audio sets share one
decode. A failure hits only the sets that needed the failing input: a clip
without an audio stream still gets its video and text features.
"""
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from mer_toolbox.fileio.feature_store import check_feature
from .decode import (DEFAULT_SAMPLE_RATE, read_audio, read_video,
                     select_frame_indices)
from ..fileio.clip_errors import (ENCODER_ERROR, MISSING_SUBTITLE,
                                  UNEXPECTED, ClipError)
from .faces import FaceCropper

LEVELS = ('UTT', 'FRA')
_VIDEO_KEYS = ('fps', 'num_frames', 'max_frames', 'max_side')
_EMPTY_POLICIES = ('missing', 'encode')


@dataclass
class FeatureSet:
    """One encoder and the levels it writes.

    Attributes:
        name: folder prefix, e.g. ``clip-vit-large-patch14``.
        encoder: a built raw encoder (``modality``, ``encode_frames``).
        levels: subset of ``('UTT', 'FRA')``.
    """
    name: str
    encoder: object
    levels: Tuple[str, ...]

    @property
    def modality(self) -> str:
        return self.encoder.modality

    def folders(self) -> List[str]:
        return [f'{self.name}-{level}' for level in self.levels]


@dataclass
class ClipExtraction:
    """Everything one clip produced.

    Attributes:
        features: ``{folder: array}``, ``(D,)`` for ``-UTT``, ``(T, D)`` for
            ``-FRA``; only the sets that succeeded.
        failures: ``{feature-set name: ClipError}``.
        warnings: ``(reason, detail)`` pairs, e.g. the whole-frame fallback.
        face_coverage: share of the detector-run frames where the main face
            was found (0.0 for the whole-frame fallback); ``None`` when no
            video was cropped or the detector is ``'none'``.
    """
    features: Dict[str, np.ndarray] = field(default_factory=dict)
    failures: Dict[str, ClipError] = field(default_factory=dict)
    warnings: List[Tuple[str, str]] = field(default_factory=list)
    face_coverage: Optional[float] = None


@dataclass
class DecodedClip:
    """The CPU half of one clip, ready for the encoders (picklable, so a
    DataLoader worker can produce it).

    Attributes:
        inputs: ``{modality: data or ClipError}``; data is ``(T, S, S, 3)``
            uint8 face crops for video, ``(S,)`` float32 samples for audio,
            the stripped subtitle for text.
        warnings / face_coverage: as in :class:`ClipExtraction`.
        timings: seconds per stage for this clip (decode / faces).
    """
    inputs: Dict[str, object] = field(default_factory=dict)
    warnings: List[Tuple[str, str]] = field(default_factory=list)
    face_coverage: Optional[float] = None
    timings: Dict[str, float] = field(default_factory=dict)


class ClipDecoder:
    """Decode one clip into what its encoders need: face crops, 16 kHz audio,
    the subtitle. Holds no model but the face detector, so it is cheap to
    copy into DataLoader worker processes.

    Args:
        video_cfg: sampling keys for :func:`read_video`.
        cropper: the :class:`FaceCropper`; ``None`` when no video set runs.
        sample_rate: audio rate in Hz.
        empty_subtitle: ``'missing'`` or ``'encode'`` (see
            :class:`FeatureExtractor`).
    """

    def __init__(self, video_cfg: dict, cropper: Optional[FaceCropper],
                 sample_rate: int, empty_subtitle: str) -> None:
        self.video_cfg = video_cfg
        self.cropper = cropper
        self.sample_rate = sample_rate
        self.empty_subtitle = empty_subtitle

    def __call__(self, video_path: str, subtitle: Optional[str],
                 modalities: Iterable[str]) -> DecodedClip:
        """Load each modality; a failure is stored, never raised."""
        decoded = DecodedClip()
        for modality in modalities:
            try:
                decoded.inputs[modality] = self._load(modality, video_path,
                                                      subtitle, decoded)
            except ClipError as err:
                decoded.inputs[modality] = err
            except Exception as err:  # noqa: BLE001 one clip must not stop a run
                decoded.inputs[modality] = ClipError(
                    UNEXPECTED, f'{type(err).__name__}: {err}')
        return decoded

    def _load(self, modality: str, path: str, subtitle: Optional[str],
              decoded: DecodedClip):
        """Decode the input one modality's encoders need."""
        start = time.perf_counter()
        if modality == 'video':
            frames = read_video(path, **self.video_cfg).frames  # (T, H, W, 3)
            decoded.timings['decode_video'] = time.perf_counter() - start
            start = time.perf_counter()
            crops = self.cropper(frames)  # (T, S, S, 3)
            decoded.timings['faces'] = time.perf_counter() - start
            if crops.fallback != 'detector_none':
                decoded.face_coverage = crops.coverage
            if crops.fallback == 'whole_frame':
                decoded.warnings.append(('no face found', f'whole frames used '
                                         f'for all {len(frames)} frames'))
            elif not crops.detected.all() and crops.fallback == '':
                missing = int((~crops.detected).sum())
                decoded.warnings.append(('face missing in some frames',
                                         f'{missing}/{len(frames)} frames use '
                                         "the main face track's interpolated "
                                         'box'))
            return crops.crops
        if modality == 'audio':
            samples = read_audio(path, self.sample_rate)  # (S,)
            decoded.timings['decode_audio'] = time.perf_counter() - start
            return samples
        if modality == 'text':
            if subtitle is None:
                raise ClipError(MISSING_SUBTITLE, 'no subtitle for this clip')
            if not subtitle.strip() and self.empty_subtitle == 'missing':
                raise ClipError(MISSING_SUBTITLE, 'the subtitle is empty')
            return subtitle.strip()
        raise ValueError(f'encoder modality {modality!r} is not one of '
                         "'video', 'audio', 'text'")


class FeatureExtractor:
    """Build encoders once, then extract any number of clips.

    Args:
        feature_sets: list of ``dict(encoder=dict(type=...), name=None,
            levels=('UTT',))``; ``name`` defaults to the checkpoint's
            basename, ``levels`` to ``('UTT', 'FRA')`` for video sets and
            ``('UTT',)`` otherwise.
        video: ``fps`` / ``num_frames`` / ``max_frames`` / ``max_side``
            (sampling, see :mod:`.decode`; default ``num_frames=16``) and
            ``faces=dict(detector=dict(type='auto'), margin=0.2, size=224,
            on_no_face='whole_frame', detect_every=1)`` (see :mod:`.faces`;
            ``'auto'`` = MTCNN if its weights are found, else dlib HOG, else
            OpenCV Haar, logged).
        audio: ``dict(sample_rate=16000)``.
        subtitle: ``dict(empty='missing')``: an empty subtitle fails the
            text sets with 'missing subtitle'; ``empty='encode'`` encodes
            ``''`` (model-dependent: BERT-like models see only their special
            tokens, BLOOM's tokenizer gives no token and the set fails).
            A clip with no subtitle at all always fails its text sets.
        device / dtype: if given, override every encoder's own setting.
    """

    def __init__(self, feature_sets: Sequence[dict], video: Optional[dict] = None,
                 audio: Optional[dict] = None, subtitle: Optional[dict] = None,
                 device: Optional[str] = None, dtype: Optional[str] = None) -> None:
        from mer_toolbox.registry import ENCODERS
        if not feature_sets:
            raise ValueError('feature_sets is empty: nothing to extract')
        video = dict(video or {})
        faces = dict(video.pop('faces', None) or {})
        unknown = set(video) - set(_VIDEO_KEYS)
        if unknown:
            raise ValueError(f'video: unknown keys {sorted(unknown)}; expected '
                             f'{list(_VIDEO_KEYS)} and faces')
        if video.get('fps') is None:
            video.setdefault('num_frames', 16)
        audio = dict(audio or {})
        sample_rate = int(audio.pop('sample_rate', DEFAULT_SAMPLE_RATE))
        subtitle = dict(subtitle or {})
        empty_subtitle = subtitle.pop('empty', 'missing')
        if audio or subtitle:
            raise ValueError(f'unknown keys: audio {sorted(audio)}, subtitle '
                             f'{sorted(subtitle)}')
        if empty_subtitle not in _EMPTY_POLICIES:
            raise ValueError(f'subtitle.empty must be one of {_EMPTY_POLICIES}'
                             f', got {empty_subtitle!r}')
        sampling = {k: v for k, v in video.items() if k != 'max_side'}
        select_frame_indices(np.arange(2.0), **sampling)  # bad sampling: fail now
        # check the cheap parts before loading any model
        classes = [spec['encoder']['type'] if isinstance(
            spec['encoder']['type'], type) else ENCODERS.get_or_raise(
                spec['encoder']['type']) for spec in feature_sets]
        faces.setdefault('detector', dict(type='auto'))
        # built only when needed: text/audio-only runs need no OpenCV
        cropper = (FaceCropper(**faces) if any(
            c.modality == 'video' for c in classes) else None)
        #: the CPU half (decode, faces), also run by DataLoader workers
        self.decoder = ClipDecoder(video, cropper, sample_rate, empty_subtitle)
        self.sets: List[FeatureSet] = []
        for spec in feature_sets:
            spec = dict(spec)
            enc_cfg = dict(spec.pop('encoder'))
            for key, value in (('device', device), ('dtype', dtype)):
                if value is not None:
                    enc_cfg[key] = value
            encoder = ENCODERS.build(enc_cfg)
            name = spec.pop('name', None) or encoder.default_name
            default = ('UTT', 'FRA') if encoder.modality == 'video' else ('UTT',)
            levels = tuple(spec.pop('levels', default))
            if spec:
                raise ValueError(f'feature set {name!r}: unknown keys '
                                 f'{sorted(spec)}')
            if not levels or set(levels) - set(LEVELS):
                raise ValueError(f'feature set {name!r}: levels must be a '
                                 f'non-empty subset of {LEVELS}, got {levels}')
            self.sets.append(FeatureSet(name, encoder, levels))
        names = [s.name for s in self.sets]
        if len(set(names)) != len(names):
            raise ValueError(f'duplicate feature-set names {names}')
        #: seconds spent per stage, summed over clips (decode / faces / encoders)
        self.timings: Dict[str, float] = defaultdict(float)

    @property
    def cropper(self) -> Optional[FaceCropper]:
        """The face cropper; ``None`` when no video set runs."""
        return self.decoder.cropper

    def folders(self) -> List[str]:
        """Every output folder name, e.g. ``['clip-vit-large-patch14-UTT', ...]``."""
        return [f for s in self.sets for f in s.folders()]

    def modalities(self, only: Optional[Iterable[str]] = None) -> List[str]:
        """Modalities the sets in ``only`` (default: all) need, in set order."""
        only = None if only is None else set(only)
        return list(dict.fromkeys(s.modality for s in self.sets
                                  if only is None or s.name in only))

    def extract(self, video_path: str, subtitle: Optional[str] = None,
                only: Optional[Iterable[str]] = None) -> ClipExtraction:
        """Extract one clip, recording failures per feature set.

        Args:
            video_path: the clip (video, or audio-only when only audio sets
                run).
            subtitle: its subtitle; ``None`` means none exists.
            only: restrict to these feature-set names (used by resume).
        """
        decoded = self.decoder(video_path, subtitle, self.modalities(only))
        return self.encode(decoded, video_path, only)

    def encode(self, decoded: DecodedClip, video_path: str,
               only: Optional[Iterable[str]] = None) -> ClipExtraction:
        """The encoder half of :meth:`extract`, on a clip already decoded.

        Args:
            decoded: the :class:`ClipDecoder` output for this clip; it holds
                every modality the wanted sets need.
            video_path: names the clip in error messages.
            only: restrict to these feature-set names.
        """
        only = None if only is None else set(only)
        wanted = [s for s in self.sets if only is None or s.name in only]
        for stage, seconds in decoded.timings.items():
            self.timings[stage] += seconds
        result = ClipExtraction(warnings=list(decoded.warnings),
                                face_coverage=decoded.face_coverage)
        for fset in wanted:
            data = decoded.inputs[fset.modality]
            if isinstance(data, ClipError):
                result.failures[fset.name] = data
                continue
            start = time.perf_counter()
            try:
                seq = fset.encoder.encode_frames(data)  # (T, D)
                seq = check_feature(np.asarray(seq, dtype=np.float32),
                                    f'{fset.name} on {video_path}')
                for level in fset.levels:
                    result.features[f'{fset.name}-{level}'] = (
                        seq.mean(0) if level == 'UTT' else seq)
            except ClipError as err:
                result.failures[fset.name] = err
            except Exception as err:  # noqa: BLE001 e.g. CUDA OOM, NaN output
                result.failures[fset.name] = ClipError(
                    ENCODER_ERROR, f'{type(err).__name__}: {err}')
            self.timings[f'encode:{fset.name}'] += time.perf_counter() - start
        return result

    def extract_clip(self, video_path: str,
                     subtitle: Optional[str] = None) -> Dict[str, np.ndarray]:
        """Strict single-clip call: ``{folder: array}`` or raise the first failure."""
        result = self.extract(video_path, subtitle)
        if result.failures:
            name, err = next(iter(result.failures.items()))
            raise ClipError(err.reason, f'{video_path} [{name}]: {err.detail}')
        return result.features
