"""Face detectors, registered in ``FACE_DETECTORS`` (built by
:func:`mer_toolbox.media.faces.build_face_detector`).

Each offers ``detect(frame (H, W, 3) uint8 RGB) -> [(x, y, w, h), ...]`` and
``is_real`` (False only for ``'none'``). Measured on real clips in
``benchmarks/face_detectors.py``; which to choose: ``docs/extraction.md``.
"""
from .auto import build_auto_face_detector
from .dlib_hog import DlibHogFaceDetector
from .haar import HaarFaceDetector, NoFaceDetector
from .mediapipe_blazeface import BlazeFaceDetector
from .mtcnn import MTCNNFaceDetector, find_mtcnn_weights

__all__ = ['build_auto_face_detector', 'BlazeFaceDetector', 'DlibHogFaceDetector',
           'HaarFaceDetector', 'NoFaceDetector', 'MTCNNFaceDetector',
           'find_mtcnn_weights']
