"""Raw-media encoders: frozen pretrained models that turn clips into features.

Registered in ``ENCODERS``; transformers / timm are imported only when one is
built. Interface: see :mod:`.base`.
"""
from .base import RawEncoder, masked_mean, select_layers
from .clip_vision import CLIPVisionEncoder
from .hf_audio import HFAudioEncoder
from .hf_text import HFTextEncoder
from .timm_image import TimmImageEncoder

__all__ = ['RawEncoder', 'CLIPVisionEncoder', 'HFAudioEncoder',
           'HFTextEncoder', 'TimmImageEncoder', 'masked_mean', 'select_layers']
