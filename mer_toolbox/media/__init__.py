"""Raw media -> features: decoding (PyAV), face crops (OpenCV), the per-clip
pipeline and the many-clip runner behind ``tools/extract_features.py``.

Heavy libraries (av, cv2, transformers, timm) load on first use.
"""
from .clips import ClipItem, read_clip_list
from .decode import VideoFrames, read_audio, read_video, select_frame_indices
from .faces import FaceCropper, build_face_detector, square_box
from .pipeline import ClipExtraction, FeatureExtractor
from .runner import build_extraction, npy_complete, run_extraction

__all__ = [
    'ClipItem', 'read_clip_list', 'VideoFrames', 'read_audio',
    'read_video', 'select_frame_indices', 'FaceCropper',
    'build_face_detector', 'square_box', 'ClipExtraction', 'FeatureExtractor',
    'build_extraction', 'npy_complete', 'run_extraction'
]
