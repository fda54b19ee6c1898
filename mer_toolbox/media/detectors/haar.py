"""OpenCV's Haar cascade (the dependency-free fallback) and the 'none' choice."""
import os.path as osp
from typing import Optional

import numpy as np

from mer_toolbox.registry import FACE_DETECTORS
from .boxes import downscale


@FACE_DETECTORS.register_module(name='none')
class NoFaceDetector:
    """The ``'none'`` detector: reports no face, and is never a fallback."""

    is_real = False

    def detect(self, frame: np.ndarray) -> list:
        return []


@FACE_DETECTORS.register_module(name='opencv_haar')
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
        small, scale = downscale(frame, self.detect_max_side)
        gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
        side = max(1, int(min(gray.shape) * self.min_size_ratio))
        found = self._classifier.detectMultiScale(
            gray, scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors, minSize=(side, side))
        return [tuple(int(round(v / scale)) for v in box) for box in found]
