"""mer_toolbox: multimodal video emotion recognition with reasoning priors."""
from .utils.torchvision_compat import ensure_torchvision_importable
from .version import __version__

# Before anything imports torchvision (timm, transformers' image processors):
# on CPU machines its CUDA-only extension cannot load (see the module).
ensure_torchvision_importable()

__all__ = ['__version__']
