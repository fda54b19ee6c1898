"""Raw media -> features: decoding (PyAV), face crops (OpenCV), the per-clip
pipeline and the many-clip runner behind ``tools/extract_features.py``
(decode workers, torchrun shares).

Heavy libraries (av, cv2, transformers, timm) load on first use.
"""
from .decode import VideoFrames, read_audio, read_video, select_frame_indices
from .decode_workers import DecodeJob, iter_decoded
from .faces import FaceCropper, build_face_detector, square_box
from .pipeline import ClipDecoder, ClipExtraction, DecodedClip, FeatureExtractor
from .runner import build_extraction, npy_complete, run_extraction
from .sharding import shard_by_cost

__all__ = [
    'VideoFrames', 'read_audio',
    'read_video', 'select_frame_indices', 'DecodeJob', 'iter_decoded',
    'FaceCropper', 'build_face_detector', 'square_box',
    'ClipDecoder', 'ClipExtraction', 'DecodedClip', 'FeatureExtractor',
    'build_extraction', 'npy_complete', 'run_extraction', 'shard_by_cost'
]
