"""Face detection, tracking and square face crops for the visual encoders.

Detectors are registered in ``FACE_DETECTORS`` (:mod:`.detectors`) and built
by :func:`build_face_detector`: ``'mtcnn'`` (the default through ``'auto'``;
weights read from the facenet-pytorch wheel), ``'dlib_hog'`` (``dlib-bin``),
``'opencv_haar'`` (ships with OpenCV: the dependency-free fallback), ``'auto'``
(the first of those that can be built, logged) and ``'none'`` (no detection;
every frame is used whole: a choice, not a fallback, so nothing is logged).

:class:`FaceCropper` runs the detector on every ``detect_every``-th sampled
frame, links the detections into tracks (:mod:`.face_tracks`), follows the
main speaker's track (most persistent, largest, most central face), and
interpolates its box on frames where it was not detected. The box is widened
by ``margin`` on each side, made square (shifted, never padded, to stay in the
frame) and resized to ``size`` x ``size``. A clip with no face in any frame is
either used as whole frames (``on_no_face='whole_frame'``, the default:
letterboxed to a square so nothing is distorted, reported as a warning) or
fails (``on_no_face='fail'``).
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from ..fileio.clip_errors import NO_FACE, ClipError
from .face_tracks import (Box, interpolate_track, keyframe_indices,
                          link_tracks, main_track)


def build_face_detector(cfg: Optional[dict]):
    """Build a detector from ``dict(type=<FACE_DETECTORS name>, **kwargs)``.

    ``None`` means ``dict(type='none')``. The built detector carries its
    registered ``name`` (for 'auto': the one it chose).
    """
    from mer_toolbox.registry import FACE_DETECTORS
    cfg = dict(cfg or dict(type='none'))
    kind = cfg.get('type')
    try:
        FACE_DETECTORS.get_or_raise(kind)
    except KeyError as err:
        raise ValueError(f'unknown face detector type {kind!r}: '
                         f'{err.args[0]}') from None
    detector = FACE_DETECTORS.build(cfg)
    if not hasattr(detector, 'name'):
        detector.name = kind
    return detector


def square_box(box: Box, margin: float, frame_w: int, frame_h: int
               ) -> Tuple[int, int, int, int]:
    """Grow ``box`` by ``margin`` per side, make it square, keep it in frame.

    Args:
        box: ``(x, y, w, h)`` detection.
        margin: extra fraction of the box side added on every side.
        frame_w / frame_h: frame size in pixels.

    Returns:
        ``(x0, y0, x1, y1)``, a square of side at most ``min(frame_w, frame_h)``.
    """
    x, y, w, h = box
    side = int(round(max(w, h) * (1 + 2 * margin)))
    side = max(1, min(side, frame_w, frame_h))
    cx, cy = x + w / 2.0, y + h / 2.0
    x0 = int(round(cx - side / 2.0))
    y0 = int(round(cy - side / 2.0))
    x0 = min(max(x0, 0), frame_w - side)  # shift inside, never pad
    y0 = min(max(y0, 0), frame_h - side)
    return x0, y0, x0 + side, y0 + side


def letterbox_resize(frame: np.ndarray, size: int) -> np.ndarray:
    """Fit ``(H, W, 3)`` into a black ``(size, size, 3)`` square, aspect kept."""
    import cv2
    height, width = frame.shape[:2]
    scale = size / max(height, width)
    new_h = max(1, int(round(height * scale)))
    new_w = max(1, int(round(width * scale)))
    resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_AREA
                         if scale < 1 else cv2.INTER_LINEAR)
    out = np.zeros((size, size, frame.shape[2]), dtype=frame.dtype)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    out[top:top + new_h, left:left + new_w] = resized.reshape(new_h, new_w, -1)
    return out


@dataclass
class FaceCrops:
    """Face crops of one clip.

    Attributes:
        crops: ``(T, S, S, 3)`` uint8 RGB.
        detected: ``(T,)`` bool, True where the main face was detected in that
            very frame (elsewhere its box is interpolated).
        fallback: ``''`` (faces used), ``'whole_frame'`` (no face anywhere),
            or ``'detector_none'``.
        coverage: share of the detector-run frames in which the main face was
            found (0.0 with a fallback).
        num_tracks: distinct faces (tracks) seen in the clip.
    """
    crops: np.ndarray
    detected: np.ndarray
    fallback: str
    coverage: float = 0.0
    num_tracks: int = 0


class FaceCropper:
    """Detect, track and crop the main face of each frame (see module doc).

    Args:
        detector: ``dict(type=...)`` for :func:`build_face_detector`, or a
            built detector (anything with ``detect(frame) -> [(x, y, w, h)]``).
        margin: extra fraction of the face side kept on every side.
        size: output crop side in pixels.
        on_no_face: ``'whole_frame'`` or ``'fail'`` when no frame has a face.
        detect_every: run the detector on every n-th sampled frame (and the
            last); the others get the main track's interpolated box. 1 suits
            the default sparse sampling (16 frames a clip); raise it when
            sampling densely (``fps=25``).
        min_iou: overlap linking a detection to a track in the next
            detector-run frame (see :func:`.face_tracks.link_tracks`).
    """

    def __init__(self, detector=None, margin: float = 0.2, size: int = 224,
                 on_no_face: str = 'whole_frame', detect_every: int = 1,
                 min_iou: float = 0.2) -> None:
        if on_no_face not in ('whole_frame', 'fail'):
            raise ValueError(f"on_no_face must be 'whole_frame' or 'fail', "
                             f'got {on_no_face!r}')
        keyframe_indices(1, detect_every)  # a bad value fails now
        if detector is None or isinstance(detector, dict):
            detector = build_face_detector(detector)
        self.detector = detector
        self.margin = margin
        self.size = size
        self.on_no_face = on_no_face
        self.detect_every = detect_every
        self.min_iou = min_iou

    def main_boxes(self, frames: np.ndarray
                   ) -> Tuple[Optional[list], np.ndarray, float, int]:
        """Detect on the keyframes, track, follow the main face.

        Returns:
            ``(boxes, detected, coverage, num_tracks)``: a ``(x, y, w, h)``
            per frame (``None`` if no face anywhere), ``(T,)`` bool where the
            main face was detected, the share of keyframes where it was, and
            the number of tracks.
        """
        num, height, width = frames.shape[:3]
        keys = keyframe_indices(num, self.detect_every)
        per_frame = [None] * num
        for t in keys:
            per_frame[t] = [tuple(int(v) for v in box)
                            for box in self.detector.detect(frames[t])]
        tracks = link_tracks(per_frame, self.min_iou)
        main = main_track(tracks, width, height)
        detected = np.zeros(num, dtype=bool)
        if main is None:
            return None, detected, 0.0, 0
        detected[list(main.boxes)] = True
        coverage = len(main.boxes) / len(keys)
        return interpolate_track(main, num), detected, coverage, len(tracks)

    def __call__(self, frames: np.ndarray) -> FaceCrops:
        """Crop ``(T, H, W, 3)`` frames to ``(T, size, size, 3)`` faces."""
        boxes, detected, coverage, num_tracks = self.main_boxes(frames)
        if boxes is None:
            real = getattr(self.detector, 'is_real', True)
            if real and self.on_no_face == 'fail':
                raise ClipError(NO_FACE, f'no face in any of {len(frames)} '
                                'sampled frames')
            fallback = 'whole_frame' if real else 'detector_none'
            crops = [letterbox_resize(f, self.size) for f in frames]
            return FaceCrops(np.stack(crops), detected, fallback)
        height, width = frames.shape[1:3]
        crops = []
        for frame, box in zip(frames, boxes):
            x0, y0, x1, y1 = square_box(box, self.margin, width, height)
            crops.append(self._resize(frame[y0:y1, x0:x1]))
        return FaceCrops(np.stack(crops), detected, '', coverage,
                         num_tracks)  # crops: (T, S, S, 3)

    def _resize(self, image: np.ndarray) -> np.ndarray:
        import cv2
        if image.shape[0] == self.size and image.shape[1] == self.size:
            return np.ascontiguousarray(image)
        shrink = image.shape[0] > self.size
        return cv2.resize(image, (self.size, self.size),
                          interpolation=cv2.INTER_AREA if shrink
                          else cv2.INTER_LINEAR)
