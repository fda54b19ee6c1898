"""Self-supervised speech models (HuBERT / wav2vec2 / WavLM) on 16 kHz audio."""
from typing import List, Sequence

import numpy as np
import torch

from mer_toolbox.fileio.clip_errors import AUDIO_TOO_SHORT, ClipError
from mer_toolbox.registry import ENCODERS
from .base import (LayerSpec, RawEncoder, check_layers, dtype_kwargs,
                   quiet_transformers, select_layers, to_numpy)


def receptive_field(config) -> int:
    """Input samples behind one output step of a wav2vec2-style conv front
    end (400 for HuBERT: a 25 ms window)."""
    field, jump = 1, 1
    for kernel, stride in zip(config.conv_kernel, config.conv_stride):
        field += (kernel - 1) * jump
        jump *= stride
    return field


def split_chunks(num_samples: int, chunk: int, min_len: int) -> List[tuple]:
    """``[start, end)`` pieces of at most ``chunk`` samples; a last piece
    shorter than ``min_len`` joins the one before it."""
    bounds = [(s, min(s + chunk, num_samples))
              for s in range(0, num_samples, chunk)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < min_len:
        bounds[-2:] = [(bounds[-2][0], bounds[-1][1])]
    return bounds


@ENCODERS.register_module()
class HFAudioEncoder(RawEncoder):
    """Hidden states of a transformers speech model, per 20 ms step.

    Any ``AutoModel`` with a wav2vec2-style conv front end works (HuBERT,
    wav2vec2, WavLM, data2vec-audio). The waveform is normalised once with the
    checkpoint's feature extractor, then cut into ``chunk_seconds`` pieces that
    run independently (batched when of equal length) and are concatenated in
    time, so memory stays flat on long clips.

    Args:
        pretrained: local folder or hub id (e.g.
            ``TencentGameMate/chinese-hubert-large``).
        layers: which hidden states, e.g. ``[-4, -3, -2, -1]`` or ``'last'``.
        layer_combine: ``'sum'`` (MER2024 features) or ``'mean'``.
        chunk_seconds: chunk length; a last piece shorter than the model's
            receptive field joins the previous chunk.
        sample_rate: the rate the model expects (checked against the
            checkpoint's feature extractor).
        device / dtype / batch_size: see :class:`~.base.RawEncoder`; the batch
            counts chunks.
    """

    modality = 'audio'

    def __init__(self, pretrained: str, layers: LayerSpec = 'last',
                 layer_combine: str = 'sum', chunk_seconds: float = 10.0,
                 sample_rate: int = 16000, device: str = 'auto',
                 dtype: str = 'float32', batch_size: int = 8) -> None:
        super().__init__(pretrained, device, dtype, batch_size)
        from transformers import AutoFeatureExtractor, AutoModel
        with quiet_transformers():
            model = AutoModel.from_pretrained(self.pretrained,
                                              **dtype_kwargs(self.dtype))
        self.model = self._prepare(model)
        self.extractor = AutoFeatureExtractor.from_pretrained(self.pretrained)
        expected = getattr(self.extractor, 'sampling_rate', sample_rate)
        if expected != sample_rate:
            raise ValueError(f'{pretrained} expects {expected} Hz audio, the '
                             f'config decodes at {sample_rate} Hz')
        if chunk_seconds <= 0:
            raise ValueError(f'chunk_seconds must be positive, got {chunk_seconds}')
        self.sample_rate = sample_rate
        self.chunk = int(round(chunk_seconds * sample_rate))
        self.min_samples = receptive_field(model.config)
        self.layers = check_layers(layers, model.config.num_hidden_layers)
        self.layer_combine = layer_combine
        self.dim = int(model.config.hidden_size)

    @torch.no_grad()
    def encode_frames(self, waveform: np.ndarray) -> np.ndarray:
        """``(S,)`` float32 mono at ``sample_rate`` -> ``(T, D)``, T ~ S / 320."""
        waveform = np.asarray(waveform, dtype=np.float32).reshape(-1)
        if waveform.size < self.min_samples:
            raise ClipError(AUDIO_TOO_SHORT, f'{waveform.size} samples, the '
                            f'model needs at least {self.min_samples}')
        values = self.extractor(waveform, sampling_rate=self.sample_rate,
                                return_tensors='np')['input_values'][0]  # (S,)
        bounds = split_chunks(len(values), self.chunk, self.min_samples)
        # equal-length chunks share a batch; an odd-sized last one runs alone
        groups: List[List[tuple]] = []
        for bound in bounds:
            if groups and len(groups[-1]) < self.batch_size and \
                    bound[1] - bound[0] == groups[-1][0][1] - groups[-1][0][0]:
                groups[-1].append(bound)
            else:
                groups.append([bound])
        pieces = []
        for group in groups:
            batch = torch.from_numpy(np.stack([values[s:e] for s, e in group]))
            out = self.model(batch.to(self.device, self.dtype),
                             output_hidden_states=True)
            hidden = select_layers(out.hidden_states, self.layers,
                                   self.layer_combine)  # (b, t, D)
            pieces.extend(to_numpy(hidden))
        return np.concatenate(pieces, axis=0)  # (T, D)

    def encode(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """Mean-over-time features of each waveform: ``(B, D)``."""
        return np.stack([self.encode_frames(w).mean(0) for w in waveforms])
