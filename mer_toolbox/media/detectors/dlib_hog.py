"""dlib's built-in HOG + linear SVM frontal face detector (``dlib-bin`` wheel)."""
from typing import Optional

import numpy as np

from mer_toolbox.registry import FACE_DETECTORS
from .boxes import downscale, to_frame_boxes


@FACE_DETECTORS.register_module(name='dlib_hog')
class DlibHogFaceDetector:
    """dlib's ``get_frontal_face_detector()``; its model is compiled into dlib.

    Install with ``pip install dlib-bin`` (prebuilt wheels, no compiler).

    Args:
        upsample: times dlib doubles the image first; each finds faces half
            as small (its smallest face is about 80 px) at ~4x the cost.
        score_threshold: minimum SVM score of a kept box (dlib's own default
            is 0; raise it to trade recall for fewer false detections).
        detect_max_side: frames are downscaled to this longer side before
            detection (boxes are mapped back); ``None`` keeps full size.
    """

    is_real = True

    def __init__(self, upsample: int = 0, score_threshold: float = 0.0,
                 detect_max_side: Optional[int] = 640) -> None:
        try:
            import dlib
        except ImportError as err:
            raise ImportError("the 'dlib_hog' face detector needs dlib: "
                              'pip install dlib-bin') from err
        self._detector = dlib.get_frontal_face_detector()
        self.upsample = int(upsample)
        self.score_threshold = float(score_threshold)
        self.detect_max_side = detect_max_side

    def detect(self, frame: np.ndarray) -> list:
        """Return the faces of one ``(H, W, 3)`` RGB frame as ``(x, y, w, h)``."""
        small, scale = downscale(frame, self.detect_max_side)
        rects, scores, _ = self._detector.run(
            np.ascontiguousarray(small), self.upsample, self.score_threshold)
        corners = [(r.left(), r.top(), r.right() + 1, r.bottom() + 1)
                   for r in rects]
        return to_frame_boxes(corners, scale, frame.shape[1], frame.shape[0])
