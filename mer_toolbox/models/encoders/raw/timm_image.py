"""Any timm image backbone on face crops (pooled, classifier removed)."""
import math
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch

from mer_toolbox.registry import ENCODERS
from .base import RawEncoder, to_numpy


def timm_model_name(pretrained: str) -> str:
    """Turn ``pretrained`` into a ``timm.create_model`` name.

    A local folder (``config.json`` + weights, as written by
    ``timm.models.save_for_hf``) becomes ``local-dir:<folder>``, a hub id
    ``owner/name`` becomes ``hf-hub:owner/name``; prefixed names and plain
    timm model names pass through.
    """
    if pretrained.startswith(('local-dir:', 'hf-hub:', 'hf_hub:')):
        return pretrained
    if osp.isdir(pretrained):
        return f'local-dir:{pretrained}'
    if '/' in pretrained:
        return f'hf-hub:{pretrained}'
    return pretrained


@ENCODERS.register_module()
class TimmImageEncoder(RawEncoder):
    """Pooled features of a timm backbone, one vector per image.

    Preprocessing follows the checkpoint's data config (input size, crop
    fraction, mean / std) in torch: resize the (square) crop to
    ``floor(size / crop_pct)``, centre-crop ``size``, normalise.

    Args:
        pretrained: local folder, hub id, or timm model name (loaded with
            ``pretrained=True`` unless ``checkpoint_path`` is given).
        checkpoint_path: optional state-dict file for a plain timm name.
        model_args: extra ``timm.create_model`` keyword arguments.
        device / dtype / batch_size: see :class:`~.base.RawEncoder`.
    """

    modality = 'video'

    def __init__(self, pretrained: str, checkpoint_path: Optional[str] = None,
                 model_args: Optional[dict] = None, device: str = 'auto',
                 dtype: str = 'float32', batch_size: int = 32) -> None:
        if pretrained.startswith('local-dir:'):
            pretrained = pretrained[len('local-dir:'):]
        super().__init__(pretrained, device, dtype, batch_size)
        import timm
        name = timm_model_name(self.pretrained)
        kwargs = dict(model_args or {})
        if checkpoint_path is not None:
            kwargs['checkpoint_path'] = checkpoint_path
        model = timm.create_model(name, pretrained=checkpoint_path is None,
                                  num_classes=0, **kwargs)
        self.model = self._prepare(model)
        self._name = osp.basename(osp.normpath(name.split(':', 1)[-1]))
        data_cfg = timm.data.resolve_data_config(model=model)
        self.input_size = int(data_cfg['input_size'][-1])
        self.crop_pct = float(data_cfg.get('crop_pct') or 1.0)
        self.mean = torch.tensor(data_cfg['mean']).view(1, 3, 1, 1)
        self.std = torch.tensor(data_cfg['std']).view(1, 3, 1, 1)
        self.dim = int(model.num_features)

    @property
    def default_name(self) -> str:
        return self._name

    def _preprocess(self, batch: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2)
        x = x.float() / 255.0  # (b, 3, H, W)
        scaled = int(math.floor(self.input_size / self.crop_pct))  # as timm
        x = torch.nn.functional.interpolate(
            x, size=(scaled, scaled), mode='bicubic', align_corners=False,
            antialias=True).clamp(0, 1)
        top = int(round((scaled - self.input_size) / 2.0))  # torchvision CenterCrop
        x = x[:, :, top:top + self.input_size, top:top + self.input_size]
        return (x - self.mean) / self.std  # (b, 3, S, S)

    @torch.no_grad()
    def encode(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Features of ``(B, H, W, 3)`` uint8 RGB square images: ``(B, D)``."""
        outs = []
        for start in range(0, len(images), self.batch_size):
            batch = np.stack(list(images[start:start + self.batch_size]))
            pixels = self._preprocess(batch).to(self.device, self.dtype)
            outs.append(to_numpy(self.model(pixels)))  # (b, D) pooled
        return np.concatenate(outs) if outs else np.zeros((0, self.dim),
                                                          np.float32)

    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        """One clip's ``(T, H, W, 3)`` face crops to ``(T, D)``."""
        return self.encode(frames)
