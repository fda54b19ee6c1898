"""Face detection and square face crops for the visual encoders.

Detectors (:func:`build_face_detector`):

* ``'opencv_haar'``: OpenCV's frontal-face Haar cascade. Its model file ships
  inside the ``opencv-python(-headless)`` wheel (``cv2.data.haarcascades``), so
  nothing is downloaded. OpenCV 5 wheels dropped the cascades: use
  ``opencv-python-headless<5`` (requirements/media.txt) or pass ``cascade`` as
  a path to the XML file.
* ``'none'``: no detection; every frame is used whole (a choice, not a
  fallback, so nothing is logged).

:class:`FaceCropper` keeps the largest face per frame, widens its box by
``margin`` on each side, makes it square (shifted, never padded, to stay in the
frame) and resizes it to ``size`` x ``size``. A frame without a detection
reuses the box of the nearest frame that has one (faces do not jump between
neighbouring samples). A clip with no face in any frame is either used as whole
frames (``on_no_face='whole_frame'``, the default: letterboxed to a square so
nothing is distorted, reported as a warning) or fails
(``on_no_face='fail'``).
"""
import os.path as osp
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from .errors import NO_FACE, ClipError

#: ``(x, y, w, h)`` in pixels of the frame.
Box = Tuple[int, int, int, int]


class NoFaceDetector:
    """The ``'none'`` detector: reports no face, and is never a fallback."""

    is_real = False

    def detect(self, frame: np.ndarray) -> list:
        return []


class HaarFaceDetector:
    """OpenCV Haar-cascade frontal face detector (model ships with OpenCV).

    Args:
        cascade: file name inside ``cv2.data.haarcascades`` or a path.
        scale_factor: cascade pyramid step.
        min_neighbors: detections needed to accept a face (higher = fewer
            false positives).
        min_size_ratio: smallest face side as a fraction of the shorter frame
            side.
        detect_max_side: frames are downscaled to this longer side before
            detection (boxes are mapped back), which bounds the cost.
    """

    is_real = True

    def __init__(self, cascade: str = 'haarcascade_frontalface_default.xml',
                 scale_factor: float = 1.1, min_neighbors: int = 5,
                 min_size_ratio: float = 0.08,
                 detect_max_side: Optional[int] = 320) -> None:
        import cv2
        if not hasattr(cv2, 'CascadeClassifier'):
            raise RuntimeError(
                f'OpenCV {cv2.__version__} has no CascadeClassifier (removed '
                "in OpenCV 5): install 'opencv-python-headless<5' or choose "
                "face_detector=dict(type='none')")
        path = cascade
        if not osp.isfile(path):
            path = osp.join(getattr(cv2.data, 'haarcascades', ''), cascade)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'Haar cascade {cascade!r} not found (looked in '
                f'cv2.data.haarcascades of OpenCV {cv2.__version__}); OpenCV '
                "5 wheels do not ship cascades: install "
                "'opencv-python-headless<5' or pass cascade=<path to XML>")
        self._classifier = cv2.CascadeClassifier(path)
        if self._classifier.empty():
            raise RuntimeError(f'OpenCV could not load the cascade {path}')
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size_ratio = min_size_ratio
        self.detect_max_side = detect_max_side

    def detect(self, frame: np.ndarray) -> list:
        """Return the faces of one ``(H, W, 3)`` RGB frame as ``(x, y, w, h)``."""
        import cv2
        height, width = frame.shape[:2]
        scale = 1.0
        if self.detect_max_side and max(height, width) > self.detect_max_side:
            scale = self.detect_max_side / max(height, width)
            frame = cv2.resize(frame, (round(width * scale),
                                       round(height * scale)),
                               interpolation=cv2.INTER_AREA)
        gray = cv2.equalizeHist(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
        side = max(1, int(min(gray.shape) * self.min_size_ratio))
        found = self._classifier.detectMultiScale(
            gray, scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors, minSize=(side, side))
        return [tuple(int(round(v / scale)) for v in box) for box in found]


def build_face_detector(cfg: Optional[dict]):
    """Build a detector from ``dict(type='opencv_haar' | 'none', **kwargs)``."""
    cfg = dict(cfg or dict(type='none'))
    kind = cfg.pop('type', None)
    if kind == 'opencv_haar':
        return HaarFaceDetector(**cfg)
    if kind == 'none':
        if cfg:
            raise ValueError(f"face detector 'none' takes no arguments, got "
                             f'{sorted(cfg)}')
        return NoFaceDetector()
    raise ValueError(f"unknown face detector type {kind!r}; expected "
                     "'opencv_haar' or 'none'")


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


def fill_missing_boxes(boxes: Sequence[Optional[Box]]) -> list:
    """Give each ``None`` the box of the nearest frame that has one (ties: earlier)."""
    have = [i for i, b in enumerate(boxes) if b is not None]
    if not have:
        return list(boxes)
    have_arr = np.asarray(have)
    out = []
    for i, box in enumerate(boxes):
        if box is None:
            box = boxes[int(have_arr[np.argmin(np.abs(have_arr - i))])]
        out.append(box)
    return out


@dataclass
class FaceCrops:
    """Face crops of one clip.

    Attributes:
        crops: ``(T, S, S, 3)`` uint8 RGB.
        detected: ``(T,)`` bool, True where the frame had its own detection.
        fallback: ``''`` (faces used), ``'whole_frame'`` (no face anywhere),
            or ``'detector_none'``.
    """
    crops: np.ndarray
    detected: np.ndarray
    fallback: str


class FaceCropper:
    """Detect, choose and crop one face per frame (see module doc).

    Args:
        detector: ``dict(type=...)`` for :func:`build_face_detector`, or a
            built detector (anything with ``detect(frame) -> [(x, y, w, h)]``).
        margin: extra fraction of the face side kept on every side.
        size: output crop side in pixels.
        on_no_face: ``'whole_frame'`` or ``'fail'`` when no frame has a face.
    """

    def __init__(self, detector=None, margin: float = 0.2, size: int = 224,
                 on_no_face: str = 'whole_frame') -> None:
        if on_no_face not in ('whole_frame', 'fail'):
            raise ValueError(f"on_no_face must be 'whole_frame' or 'fail', "
                             f'got {on_no_face!r}')
        if detector is None or isinstance(detector, dict):
            detector = build_face_detector(detector)
        self.detector = detector
        self.margin = margin
        self.size = size
        self.on_no_face = on_no_face

    def __call__(self, frames: np.ndarray) -> FaceCrops:
        """Crop ``(T, H, W, 3)`` frames to ``(T, size, size, 3)`` faces."""
        boxes = []
        for frame in frames:
            faces = self.detector.detect(frame)
            boxes.append(max(faces, key=lambda b: b[2] * b[3])
                         if faces else None)
        detected = np.array([b is not None for b in boxes], dtype=bool)
        if not detected.any():
            if getattr(self.detector, 'is_real', True) and \
                    self.on_no_face == 'fail':
                raise ClipError(NO_FACE, f'no face in any of {len(frames)} '
                                'sampled frames')
            fallback = ('whole_frame' if getattr(self.detector, 'is_real', True)
                        else 'detector_none')
            crops = [letterbox_resize(f, self.size) for f in frames]
            return FaceCrops(np.stack(crops), detected, fallback)
        height, width = frames.shape[1:3]
        crops = []
        for frame, box in zip(frames, fill_missing_boxes(boxes)):
            x0, y0, x1, y1 = square_box(box, self.margin, width, height)
            crops.append(self._resize(frame[y0:y1, x0:x1]))
        return FaceCrops(np.stack(crops), detected, '')  # (T, S, S, 3)

    def _resize(self, image: np.ndarray) -> np.ndarray:
        import cv2
        if image.shape[0] == self.size and image.shape[1] == self.size:
            return np.ascontiguousarray(image)
        shrink = image.shape[0] > self.size
        return cv2.resize(image, (self.size, self.size),
                          interpolation=cv2.INTER_AREA if shrink
                          else cv2.INTER_LINEAR)
