"""CLIP vision tower on face crops (the paper's visual encoder, ViT-L/14)."""
from typing import Sequence

import numpy as np
import torch

from mer_toolbox.registry import ENCODERS
from .base import (LayerSpec, RawEncoder, check_layers, dtype_kwargs,
                   quiet_transformers, select_layers, to_numpy)

_OUTPUTS = ('image_embeds', 'pooler', 'hidden')


@ENCODERS.register_module()
class CLIPVisionEncoder(RawEncoder):
    """CLIP image features, one vector per face crop.

    Loads only the vision tower (and its projection) from a full CLIP
    checkpoint (``openai/clip-vit-large-patch14``) or a vision-only one;
    preprocessing is the checkpoint's own image processor.

    Args:
        pretrained: local folder or hub id of a CLIP checkpoint.
        output: ``'image_embeds'`` (projected embedding, 768-d for ViT-L/14,
            what MER2024's ``clip-vit-large-patch14`` features are; default),
            ``'pooler'`` (post-layernorm CLS, 1024-d for ViT-L/14) or
            ``'hidden'`` (mean over all tokens of the ``layers`` states).
        layers: hidden states for ``output='hidden'`` (see
            :func:`~.base.select_layers`).
        layer_combine: ``'sum'`` or ``'mean'`` over ``layers``.
        device / dtype / batch_size: see :class:`~.base.RawEncoder`.
    """

    modality = 'video'

    def __init__(self, pretrained: str, output: str = 'image_embeds',
                 layers: LayerSpec = 'last', layer_combine: str = 'sum',
                 device: str = 'auto', dtype: str = 'float32',
                 batch_size: int = 32) -> None:
        super().__init__(pretrained, device, dtype, batch_size)
        if output not in _OUTPUTS:
            raise ValueError(f'output must be one of {_OUTPUTS}, got {output!r}')
        from transformers import (AutoConfig, AutoImageProcessor,
                                  CLIPVisionModelWithProjection)
        config = AutoConfig.from_pretrained(self.pretrained)
        if hasattr(config, 'vision_config'):  # a full CLIP checkpoint
            vision_config = config.vision_config
            # the projection size lives on the parent config of full checkpoints
            vision_config.projection_dim = config.projection_dim
        else:
            vision_config = config
        with quiet_transformers():
            model = CLIPVisionModelWithProjection.from_pretrained(
                self.pretrained, config=vision_config,
                **dtype_kwargs(self.dtype))
        self.model = self._prepare(model)
        self.processor = AutoImageProcessor.from_pretrained(self.pretrained)
        self.output = output
        self.layers = check_layers(layers, vision_config.num_hidden_layers)
        self.layer_combine = layer_combine
        self.dim = (vision_config.projection_dim if output == 'image_embeds'
                    else vision_config.hidden_size)

    @torch.no_grad()
    def encode(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Features of ``(B, H, W, 3)`` uint8 RGB images: ``(B, D)`` float32."""
        outs = []
        for start in range(0, len(images), self.batch_size):
            batch = list(images[start:start + self.batch_size])
            pixels = self.processor(images=batch, return_tensors='pt')[
                'pixel_values'].to(self.device, self.dtype)  # (b, 3, S, S)
            result = self.model(pixel_values=pixels,
                                output_hidden_states=self.output == 'hidden')
            if self.output == 'image_embeds':
                feats = result.image_embeds  # (b, P)
            elif self.output == 'pooler':
                # the projection's input: CLS after post_layernorm
                feats = self.model.vision_model.post_layernorm(
                    result.last_hidden_state[:, 0])  # (b, D)
            else:
                feats = select_layers(result.hidden_states, self.layers,
                                      self.layer_combine).mean(1)  # (b, D)
            outs.append(to_numpy(feats))
        return np.concatenate(outs) if outs else np.zeros((0, self.dim),
                                                          np.float32)

    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        """One clip's ``(T, H, W, 3)`` face crops to ``(T, D)``."""
        return self.encode(frames)
