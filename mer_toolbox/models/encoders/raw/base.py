"""What every raw-media encoder shares: device / dtype, layer selection, pooling.

A raw encoder wraps a frozen pretrained model (transformers or timm) and turns
one clip's media into features. Every encoder offers two calls:

* ``encode(batch) -> (B, D)``: one pooled vector per item of the batch;
* ``encode_frames(item) -> (T, D)``: one clip's sequence (frames, audio
  steps or tokens); the utterance-level feature is its mean over ``T``.

Heavy libraries (transformers, timm) are imported inside ``__init__`` so that
importing ``mer_toolbox.models.encoders`` stays light.
"""
import os.path as osp
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence, Union

import numpy as np
import torch

LayerSpec = Union[str, int, Sequence[int]]

_DTYPES = {'float32': torch.float32, 'float16': torch.float16,
           'bfloat16': torch.bfloat16}


def resolve_device(device: str = 'auto') -> torch.device:
    """``'auto'`` picks CUDA when available, else CPU; ``'cuda'`` without CUDA fails."""
    if device == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    dev = torch.device(device)
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError(f"device={device!r} but CUDA is not available; use "
                           "device='cpu' or 'auto'")
    return dev


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """Map ``'float32' | 'float16' | 'bfloat16' | 'auto'`` to a torch dtype.

    ``'auto'`` is float16 on CUDA and float32 elsewhere. float16 on CPU is an
    error (many CPU kernels lack it and the rest are slow); bfloat16 runs on
    both.
    """
    if dtype == 'auto':
        return torch.float16 if device.type == 'cuda' else torch.float32
    if dtype not in _DTYPES:
        raise ValueError(f'unknown dtype {dtype!r}; expected one of '
                         f"{sorted(_DTYPES)} or 'auto'")
    if dtype == 'float16' and device.type == 'cpu':
        raise ValueError("dtype='float16' needs a CUDA device; on CPU use "
                         "'float32' (or 'bfloat16')")
    return _DTYPES[dtype]


def check_pretrained(pretrained: str) -> str:
    """Fail early and clearly for a local-looking path that does not exist.

    Anything else is handed to ``from_pretrained`` as a hub id (which, with
    ``HF_HUB_OFFLINE=1``, must already be in the local cache).
    """
    if not pretrained:
        raise ValueError('`pretrained` (a local folder or a hub id) is required')
    expanded = osp.expanduser(pretrained)
    looks_local = expanded.startswith(('/', '.', '~')) or \
        expanded.count('/') > 1 or osp.sep != '/' and osp.sep in expanded
    if looks_local and not osp.isdir(expanded):
        raise FileNotFoundError(f'model folder {pretrained!r} does not exist')
    return expanded if osp.isdir(expanded) else pretrained


def check_layers(layers: LayerSpec, num_layers: Optional[int]) -> LayerSpec:
    """Validate a layer spec against a model with ``num_layers`` layers.

    Run at build time so a bad index is a config error, not a failure of
    every clip. ``num_layers=None`` (unknown) skips the range check.
    """
    if layers == 'last':
        return layers
    indices = [layers] if isinstance(layers, int) else list(layers)
    if not indices or not all(isinstance(i, int) for i in indices):
        raise ValueError(f"layers must be 'last', an int or a list of ints, "
                         f'got {layers!r}')
    if num_layers is not None:
        count = num_layers + 1  # hidden_states = embeddings + every layer
        bad = [i for i in indices if not -count <= i < count]
        if bad:
            raise ValueError(f'layers {bad} out of range: the model returns '
                             f'{count} hidden states (embeddings + '
                             f'{num_layers} layers)')
    return layers


def select_layers(hidden_states: Sequence[torch.Tensor], layers: LayerSpec,
                  combine: str = 'sum') -> torch.Tensor:
    """Pick and combine hidden states.

    Args:
        hidden_states: ``L + 1`` tensors ``(B, T, D)`` (index 0 = embeddings,
            -1 = last layer), as returned with ``output_hidden_states=True``.
        layers: ``'last'``, one index, or a list of indices (e.g.
            ``[-4, -3, -2, -1]``).
        combine: ``'sum'`` or ``'mean'`` over the chosen layers.

    Returns:
        ``(B, T, D)``.
    """
    if layers == 'last':
        return hidden_states[-1]
    if isinstance(layers, int):
        layers = [layers]
    count = len(hidden_states)
    for index in layers:
        if not -count <= index < count:
            raise ValueError(f'layer {index} out of range: the model returns '
                             f'{count} hidden states (embeddings + '
                             f'{count - 1} layers)')
    stacked = torch.stack([hidden_states[i] for i in layers])  # (K, B, T, D)
    if combine == 'sum':
        return stacked.sum(0)
    if combine == 'mean':
        return stacked.mean(0)
    raise ValueError(f"combine must be 'sum' or 'mean', got {combine!r}")


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` ``(B, T, D)`` over the steps where ``mask`` ``(B, T)`` is 1."""
    weights = mask.to(x.dtype).unsqueeze(-1)  # (B, T, 1)
    return (x * weights).sum(1) / weights.sum(1).clamp(min=1)


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """float32 numpy copy of a tensor of any floating dtype."""
    return x.detach().float().cpu().numpy()


def dtype_kwargs(dtype: torch.dtype) -> dict:
    """``from_pretrained`` argument that loads weights directly in ``dtype``.

    Loading a 7B model in float32 and casting afterwards would need twice the
    memory. transformers renamed ``torch_dtype`` to ``dtype`` in 4.56.
    """
    import transformers
    major, minor = (int(v) for v in transformers.__version__.split('.')[:2])
    return {'dtype' if (major, minor) >= (4, 56) else 'torch_dtype': dtype}


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports (e.g. unused text-tower weights)
    and its per-load progress bars, which would break the run's own bar."""
    from transformers.utils import logging as hf_logging
    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


class RawEncoder:
    """Shared state of raw-media encoders.

    Args:
        pretrained: local folder or hub id.
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'`` or ``'auto'``.
        dtype: ``'float32'``, ``'float16'``, ``'bfloat16'`` or ``'auto'``.
        batch_size: items per forward pass.
    """

    #: 'video', 'audio' or 'text': which decoded input the pipeline feeds.
    modality = ''

    def __init__(self, pretrained: str, device: str = 'auto',
                 dtype: str = 'float32', batch_size: int = 16) -> None:
        if batch_size <= 0:
            raise ValueError(f'batch_size must be positive, got {batch_size}')
        self.pretrained = check_pretrained(pretrained)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.batch_size = batch_size
        self.dim = 0  # set by subclasses once the model is loaded

    @property
    def default_name(self) -> str:
        """Feature-set name from the checkpoint: its folder / repo basename."""
        return osp.basename(osp.normpath(str(self.pretrained)))

    def _prepare(self, model: torch.nn.Module) -> torch.nn.Module:
        model = model.to(device=self.device, dtype=self.dtype).eval()
        model.requires_grad_(False)
        return model
