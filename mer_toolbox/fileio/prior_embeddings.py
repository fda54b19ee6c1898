"""Prior records as model arrays, and their cache for stage 2.

:func:`records_to_arrays` is the one conversion of prior records into the
arrays the prior branch reads; the cache stores its output, built once and
memory-mapped at training.

:func:`build_prior_embeddings` writes a folder (default ``<store>.emb/``):

====================  ==============  ===========================================
``names.txt``         N lines         clip names, row order of every array
``video.npy``         ``(N, A + D)``  AU multi-hot over ``au_ids`` (A = 58 FACS
                                      codes) then the embedding of
                                      ``visual_reasoning``
``audio.npy``         ``(N, D)``      embedding of ``prosody_reasoning``
``text.npy``          ``(N, D)``      embedding of ``subtitle_semantics``
``contributions.npy`` ``(N, 3)``      teacher weights (video, audio, text), sum 1
``scores.npy``        ``(N, C)``      per-class scores in ``classes`` order
``has_prior.npy``     ``(N,)`` bool   False: the clip's last record failed;
                                      its rows are all zero
``meta.json``                         classes, au_ids, embedder, dims, teacher,
                                      prompt_version, the store's sha256
====================  ==============  ===========================================

A modality's text falls back to the record's overall ``reasoning`` when empty
(imported priors carry only that paragraph). The cache is rebuilt only when
the store's content, the embedder, the teacher / prompt or the classes change.

:func:`load_prior_embeddings` returns ``name -> {'video', 'audio', 'text',
'contributions', 'scores', 'has_prior'}`` (views into memory-mapped arrays;
``has_prior`` is a numpy bool). Clips absent from the store are absent
from the dict: stage 2 treats both cases as "no prior".
"""
import hashlib
import json
import os
import os.path as osp
import shutil
from typing import Dict, Optional, Sequence

import numpy as np

from ..constants import MER2024_CLASSES
from .facs import VALID_AUS
from .prior_record import CONTRIBUTION_KEYS, PriorRecord
from .prior_store import load_priors

ARRAYS = ('video', 'audio', 'text', 'contributions', 'scores', 'has_prior')
CACHE_FORMAT = 'mer_toolbox.prior_embeddings.v1'
#: Record field embedded for each modality's prior text.
PRIOR_TEXT_FIELDS = {'video': 'visual_reasoning', 'audio': 'prosody_reasoning',
                     'text': 'subtitle_semantics'}


def default_cache_path(store_path: str) -> str:
    return store_path + '.emb'


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _embed_unique(embedder, texts: Sequence[str]) -> np.ndarray:
    """Embed each distinct text once (many records share boilerplate)."""
    unique = sorted(set(texts))
    vectors = embedder.embed(unique) if unique else None
    index = {t: i for i, t in enumerate(unique)}
    return np.stack([vectors[index[t]] for t in texts]).astype(np.float32)


def records_to_arrays(records: Sequence[PriorRecord], embedder,
                      classes: Optional[Sequence[str]] = None
                      ) -> Dict[str, np.ndarray]:
    """The prior record -> model arrays conversion (the only one).

    The cache builder runs it over a whole store; the prior-guided model runs
    it on the one record a single-clip inference passes, so both see exactly
    the same arrays. A modality's empty text falls back to the record's
    overall ``reasoning``; failed records give all-zero rows.

    Args:
        records: N validated records.
        embedder: a built ``PRIOR_EMBEDDERS`` object (``embed``, ``dim``).
        classes: order of the ``scores`` columns; None leaves ``scores`` out.

    Returns:
        ``video (N, A + D)`` (AU multi-hot over ``VALID_AUS``, then the
        ``visual_reasoning`` embedding), ``audio (N, D)``, ``text (N, D)``,
        ``contributions (N, 3)``, ``scores (N, C)`` and ``has_prior (N,)``.
    """
    ok = np.array([r.ok for r in records], dtype=bool)  # (N,)
    emb = {}
    for m, field in PRIOR_TEXT_FIELDS.items():
        texts = [(getattr(r, field) or r.reasoning) if r.ok else ''
                 for r in records]
        emb[m] = (_embed_unique(embedder, texts) if records else
                  np.zeros((0, embedder.dim), np.float32))  # (N, D)
    au_index = {au: i for i, au in enumerate(VALID_AUS)}
    multi_hot = np.zeros((len(records), len(VALID_AUS)), np.float32)  # (N, A)
    for i, r in enumerate(records):
        for au in r.action_units:
            multi_hot[i, au_index[au]] = 1.0
    arrays = {
        'video': np.concatenate([multi_hot, emb['video']], 1),  # (N, A + D)
        'audio': emb['audio'], 'text': emb['text'],              # (N, D)
        'contributions': np.array(
            [[r.contributions.get(k, 0.0) for k in CONTRIBUTION_KEYS]
             for r in records], np.float32).reshape(-1, 3),       # (N, 3)
    }
    if classes is not None:
        arrays['scores'] = np.array(
            [[r.scores.get(c, 0.0) for c in classes] for r in records],
            np.float32).reshape(-1, len(classes))                 # (N, C)
    for value in arrays.values():
        value[~ok] = 0.0  # failed records carry nothing
    arrays['has_prior'] = ok
    return arrays


def build_prior_embeddings(store_path: str, embedder,
                           out_path: Optional[str] = None,
                           teacher: Optional[str] = None,
                           prompt_version: Optional[str] = None,
                           classes: Sequence[str] = MER2024_CLASSES,
                           force: bool = False) -> str:
    """Embed a store's priors into the cache folder; return its path.

    Args:
        store_path: the JSONL prior store.
        embedder: a built ``PRIOR_EMBEDDERS`` object.
        out_path: cache folder; default ``<store>.emb``.
        teacher, prompt_version: which priors (see
            :func:`.prior_store.load_priors`).
        classes: the dataset's classes (order of ``scores``).
        force: rebuild even if the cache is current.
    """
    out_path = out_path or default_cache_path(store_path)
    records = load_priors(store_path, teacher, prompt_version, classes,
                          ok_only=False)
    first = next(iter(records.values()), None)
    meta = dict(format=CACHE_FORMAT, store_sha256=_sha256(store_path),
                embedder=embedder.name, classes=list(classes),
                teacher=first and first.teacher,
                prompt_version=first and first.prompt_version,
                au_ids=list(VALID_AUS))
    meta_file = osp.join(out_path, 'meta.json')
    if not force and osp.isfile(meta_file):
        with open(meta_file, encoding='utf-8') as f:
            old = json.load(f)
        if {k: old.get(k) for k in meta} == meta:
            return out_path
    names = sorted(records)
    arrays = records_to_arrays([records[n] for n in names], embedder, classes)
    meta.update(count=len(names), text_dim=int(arrays['audio'].shape[1]),
                video_dim=int(arrays['video'].shape[1]))
    _write_folder(out_path, names, arrays, meta)
    return out_path


def _write_folder(out_path: str, names, arrays, meta) -> None:
    # Written beside, then swapped in: a crash never leaves a half cache.
    tmp = f'{out_path}.tmp-{os.getpid()}'
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    with open(osp.join(tmp, 'names.txt'), 'w', encoding='utf-8') as f:
        f.writelines(n + '\n' for n in names)
    for key, value in arrays.items():
        np.save(osp.join(tmp, key + '.npy'), value)
    with open(osp.join(tmp, 'meta.json'), 'w', encoding='utf-8') as f:
        json.dump(meta, f, ensure_ascii=False, indent=1)
    old = f'{out_path}.old-{os.getpid()}'
    if osp.exists(out_path):
        os.replace(out_path, old)
    os.replace(tmp, out_path)
    shutil.rmtree(old, ignore_errors=True)


def prior_embedding_meta(path: str) -> dict:
    """The cache's ``meta.json`` (classes, au_ids, dims, embedder, ...)."""
    with open(osp.join(path, 'meta.json'), encoding='utf-8') as f:
        meta = json.load(f)
    if meta.get('format') != CACHE_FORMAT:
        raise ValueError(f'{path}: not a prior embedding cache '
                         f'(format {meta.get("format")!r})')
    return meta


def load_prior_embeddings(path: str) -> Dict[str, Dict[str, np.ndarray]]:
    """Load a cache folder: clip name -> arrays (see module doc for shapes).

    Raises:
        ValueError: not a cache folder, or its arrays disagree in length.
    """
    meta = prior_embedding_meta(path)
    with open(osp.join(path, 'names.txt'), encoding='utf-8') as f:
        names = [line.rstrip('\n') for line in f]
    arrays = {k: np.load(osp.join(path, k + '.npy'), mmap_mode='r')
              for k in ARRAYS}
    for key, value in arrays.items():
        if len(value) != len(names) or len(names) != meta['count']:
            raise ValueError(f'{path}: {key}.npy has {len(value)} rows, '
                             f'names.txt {len(names)}, meta {meta["count"]}')
    return {name: {k: arrays[k][i] for k in ARRAYS}
            for i, name in enumerate(names)}
