"""Any transformers language model on subtitles (BLOOM, BERT, MiniLM, ...)."""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch

from mer_toolbox.fileio.clip_errors import MISSING_SUBTITLE, ClipError
from mer_toolbox.registry import ENCODERS
from .base import (LayerSpec, RawEncoder, check_layers, dtype_kwargs,
                   masked_mean, quiet_transformers, select_layers, to_numpy)


@ENCODERS.register_module()
class HFTextEncoder(RawEncoder):
    """Token hidden states of an ``AutoModel`` (encoder-only or decoder-only).

    Utterance features are the mean over the real (non-padding) tokens of the
    chosen layers, special tokens included when the tokenizer adds them
    (``[CLS]``/``[SEP]`` for BERT-like models; none for BLOOM).

    A text that tokenizes to no token at all (the empty string for BLOOM's
    tokenizer) raises ``ClipError('missing subtitle')``: there is nothing to
    encode. Whether an *empty* subtitle is encoded at all is the pipeline's
    ``empty_subtitle`` policy.

    Args:
        pretrained: local folder or hub id (e.g. ``bigscience/bloom-7b1``).
        layers: which hidden states, e.g. ``[-4, -3, -2, -1]`` or ``'last'``.
        layer_combine: ``'sum'`` or ``'mean'``.
        max_length: tokens kept per subtitle (longer ones are truncated).
        model_kwargs: extra ``from_pretrained`` arguments (``revision``, ...).
        device / dtype / batch_size: see :class:`~.base.RawEncoder`.
    """

    modality = 'text'

    def __init__(self, pretrained: str, layers: LayerSpec = 'last',
                 layer_combine: str = 'sum', max_length: int = 512,
                 model_kwargs: Optional[dict] = None, device: str = 'auto',
                 dtype: str = 'float32', batch_size: int = 16) -> None:
        super().__init__(pretrained, device, dtype, batch_size)
        from transformers import AutoModel, AutoTokenizer
        self.tokenizer = AutoTokenizer.from_pretrained(self.pretrained)
        if self.tokenizer.pad_token is None:  # GPT-style tokenizers
            self.tokenizer.pad_token = (self.tokenizer.eos_token or
                                        self.tokenizer.unk_token)
        with quiet_transformers():
            model = AutoModel.from_pretrained(
                self.pretrained, **{**dtype_kwargs(self.dtype),
                                    **(model_kwargs or {})})
        self.model = self._prepare(model)
        self.layers = check_layers(
            layers, getattr(model.config, 'num_hidden_layers', None))
        self.layer_combine = layer_combine
        self.max_length = max_length
        config = model.config
        self.dim = int(next(getattr(config, k) for k in
                            ('hidden_size', 'd_model', 'n_embd')
                            if hasattr(config, k)))

    @torch.no_grad()
    def _forward(self, texts: Sequence[str]) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(B, L, D)`` combined hidden states and ``(B, L)`` token mask."""
        enc = self.tokenizer(list(texts), padding=True, truncation=True,
                             max_length=self.max_length, return_tensors='pt')
        mask = enc['attention_mask']  # (B, L)
        empty = [t for t, n in zip(texts, mask.sum(1).tolist()) if n == 0]
        if empty:
            raise ClipError(MISSING_SUBTITLE, f'the tokenizer gives no token '
                            f'for {empty[0]!r}: nothing to encode')
        enc = {k: v.to(self.device) for k, v in enc.items()}
        out = self.model(**enc, output_hidden_states=True)
        hidden = select_layers(out.hidden_states, self.layers,
                               self.layer_combine)  # (B, L, D)
        return hidden, enc['attention_mask']

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Mean-over-tokens features of each text: ``(B, D)`` float32."""
        outs = []
        for start in range(0, len(texts), self.batch_size):
            hidden, mask = self._forward(texts[start:start + self.batch_size])
            outs.append(to_numpy(masked_mean(hidden.float(), mask)))
        return np.concatenate(outs) if outs else np.zeros((0, self.dim),
                                                          np.float32)

    def encode_frames(self, text: str) -> np.ndarray:
        """One subtitle's token features: ``(L, D)`` (padding excluded)."""
        hidden, mask = self._forward([text])
        return to_numpy(hidden[0][mask[0].bool()])
