"""The embedded demo dataset: a seeded, MER-like synthetic feature set.

Nothing is downloaded: :func:`ensure_demo_data` writes the data on first use
(atomically, so several ranks may race safely) in the MERTools layout that
real MER2024 features use, so every code path is the real one.

How the clips are simulated (all seeded):

* 6 MER2024 classes with MER-like imbalance (neutral common, surprise rare).
  Class prototypes live in a latent emotion space and overlap the way MER
  labels do (worried sits between sad and neutral, surprise between happy
  and angry), and every clip has its own ambiguity noise.
* Each modality sees the clip's emotion through its own random non-linear
  encoder plus nuisance factors (speaker, lighting, topic). Audio carries the
  most signal, then video, then text (the paper's Table 2 order), and some
  clips have an uninformative modality (its gain is near zero).
* Scales differ like real encoders: video ~ CLIP image features, audio ~
  raw log-mel statistics (large offset and spread), text ~ L2-normalised
  sentence embeddings. Per-modality normalisation is therefore needed.
* Splits: train / val / test (labelled) and an unlabelled pool several times
  the train set whose true labels are kept in ``hidden/`` only to measure
  pseudo-label precision. ``hidden/clip_factors.csv`` keeps each clip's
  per-modality gain for simulated teachers.
"""
import csv
import json
import os
import os.path as osp
from typing import Dict, Optional

import numpy as np

from ..constants import MER2024_CLASSES
from ..fileio.atomic import staged_directory
from ..fileio.label_file import write_label_csv

DEMO_VERSION = 1

#: Class frequencies, roughly MER2024-SEMI train (surprise rare, neutral common).
DEMO_CLASS_FREQ = (0.26, 0.21, 0.22, 0.14, 0.11, 0.06)

DEMO_FEATURE_SETS = {
    'video': 'demo-clip-UTT',
    'audio': 'demo-logmel-UTT',
    'text': 'demo-sentence-UTT',
}
DEMO_FEATURE_DIMS = {'video': 64, 'audio': 48, 'text': 32}

_DEFAULT_SIZES = dict(train=1200, val=300, test=600, pool=4800)
#: Mean signal gain per modality and the chance that a clip's modality is
#: uninformative (audio > video > text, as in the paper's Table 2).
_GAIN = {'video': 0.95, 'audio': 1.25, 'text': 0.7}
_DROP = {'video': 0.2, 'audio': 0.15, 'text': 0.3}


def _prototypes(rng: np.random.Generator, latent: int) -> np.ndarray:
    """Class prototypes ``(C, K)`` with MER-like confusions."""
    base = rng.normal(size=(6, latent))
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    neutral, angry, happy, sad, worried, surprise = base
    worried = 0.55 * sad + 0.35 * neutral + 0.6 * worried
    surprise = 0.45 * happy + 0.35 * angry + 0.6 * surprise
    neutral = 0.6 * neutral
    protos = np.stack([neutral, angry, happy, sad, worried, surprise])
    return 2.0 * protos


class _ModalityEncoder:
    """A fixed random two-layer map from latent signal to feature space."""

    def __init__(self, rng: np.random.Generator, in_dim: int, out_dim: int,
                 modality: str) -> None:
        hidden = 2 * out_dim
        self.w1 = rng.normal(size=(in_dim, hidden)) / np.sqrt(in_dim)
        self.w2 = rng.normal(size=(hidden, out_dim)) / np.sqrt(hidden)
        self.modality = modality
        if modality == 'audio':  # log-mel statistics: big offset and spread
            self.offset = rng.normal(-20.0, 6.0, size=out_dim)
            self.scale = rng.uniform(4.0, 12.0, size=out_dim)
        else:
            self.offset = np.zeros(out_dim)
            self.scale = np.full(out_dim, 0.5)

    def __call__(self, h: np.ndarray) -> np.ndarray:
        x = np.tanh(h @ self.w1) @ self.w2  # (N, D)
        x = x * self.scale + self.offset
        if self.modality == 'text':  # sentence embeddings are unit-norm
            x = x / np.linalg.norm(x, axis=1, keepdims=True)
        return x.astype(np.float32)


def _simulate(seed: int, sizes: Dict[str, int], frame_level: bool):
    rng = np.random.default_rng(seed)
    latent, nuisance = 12, 8
    protos = _prototypes(rng, latent)
    encoders = {m: _ModalityEncoder(rng, latent + nuisance, d, m)
                for m, d in DEMO_FEATURE_DIMS.items()}
    splits = {}
    for split, n in sizes.items():
        labels = rng.choice(6, size=n, p=DEMO_CLASS_FREQ)
        emotion = protos[labels] + rng.normal(scale=0.6, size=(n, latent))
        feats, gains, frames = {}, {}, {}
        for m, enc in encoders.items():
            informative = rng.random(n) >= _DROP[m]
            gain = np.where(informative,
                            _GAIN[m] * rng.uniform(0.6, 1.4, size=n),
                            rng.uniform(0.0, 0.1, size=n))
            signal = gain[:, None] * emotion
            noise = rng.normal(scale=0.55, size=(n, latent))
            style = rng.normal(scale=1.2, size=(n, nuisance))
            h = np.concatenate([signal + noise, style], axis=1)
            feats[m] = enc(h)
            gains[m] = gain
            if frame_level:
                lengths = rng.integers(4, 11, size=n)
                frames[m] = [feats[m][i] + rng.normal(
                    scale=0.3 * enc.scale.mean(),
                    size=(t, feats[m].shape[1])).astype(np.float32)
                    for i, t in enumerate(lengths)]
        names = [f'demo_{split}_{i:05d}' for i in range(n)]
        splits[split] = dict(names=names, labels=labels, feats=feats,
                             gains=gains, frames=frames)
    return splits


def _write(root: str, splits: dict, seed: int, frame_level: bool) -> None:
    for m, folder in DEMO_FEATURE_SETS.items():
        os.makedirs(osp.join(root, folder))
        if frame_level:
            os.makedirs(osp.join(root, folder.replace('-UTT', '-FRA')))
    os.makedirs(osp.join(root, 'hidden'))
    factors = []
    for split, data in splits.items():
        rows = [(n, MER2024_CLASSES[y]) for n, y in
                zip(data['names'], data['labels'])]
        if split == 'pool':
            write_label_csv(osp.join(root, 'pool.csv'),
                            [(n, None) for n, _ in rows])
            write_label_csv(osp.join(root, 'hidden', 'pool-labels.csv'), rows)
        else:
            write_label_csv(osp.join(root, f'label-{split}.csv'), rows)
        for m, folder in DEMO_FEATURE_SETS.items():
            for i, name in enumerate(data['names']):
                np.save(osp.join(root, folder, f'{name}.npy'),
                        data['feats'][m][i])
                if frame_level:
                    np.save(osp.join(root, folder.replace('-UTT', '-FRA'),
                                     f'{name}.npy'), data['frames'][m][i])
        for i, name in enumerate(data['names']):
            factors.append([name, split, MER2024_CLASSES[data['labels'][i]]] +
                           [f'{data["gains"][m][i]:.4f}'
                            for m in DEMO_FEATURE_SETS])
    with open(osp.join(root, 'hidden', 'clip_factors.csv'), 'w',
              newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(['name', 'split', 'label'] +
                        [f'gain_{m}' for m in DEMO_FEATURE_SETS])
        writer.writerows(factors)
    meta = dict(version=DEMO_VERSION, seed=seed, frame_level=frame_level,
                sizes={k: len(v['names']) for k, v in splits.items()},
                feature_sets=DEMO_FEATURE_SETS, feature_dims=DEMO_FEATURE_DIMS,
                classes=list(MER2024_CLASSES))
    with open(osp.join(root, 'demo.json'), 'w', encoding='utf-8') as f:
        json.dump(meta, f, indent=2)


def ensure_demo_data(root: str, seed: int = 0,
                     sizes: Optional[Dict[str, int]] = None,
                     frame_level: bool = False) -> str:
    """Create the demo dataset at ``root`` unless it already exists.

    Args:
        root: destination folder (created atomically: written to a temporary
            sibling and renamed, so concurrent ranks cannot see half a set).
        seed: generator seed; the same seed gives byte-identical data.
        sizes: clips per split (``train``, ``val``, ``test``, ``pool``).
        frame_level: also write frame-level ``(T, D)`` features (``*-FRA``).

    Returns:
        ``root``.

    Raises:
        ValueError: ``root`` holds a demo set made with other settings.
    """
    sizes = dict(_DEFAULT_SIZES if sizes is None else sizes)
    meta_path = osp.join(root, 'demo.json')
    if osp.isfile(meta_path):
        with open(meta_path, encoding='utf-8') as f:
            meta = json.load(f)
        wanted = dict(version=DEMO_VERSION, seed=seed, sizes=sizes,
                      frame_level=frame_level)
        have = {k: meta.get(k) for k in wanted}
        if have != wanted:
            raise ValueError(f'{root} holds demo data made with {have}, but '
                             f'{wanted} was requested; delete the folder or '
                             'choose another data_root')
        return root
    with staged_directory(root, 'demo.json') as staging:
        _write(staging, _simulate(seed, sizes, frame_level), seed, frame_level)
    return root


def read_hidden_labels(root: str) -> Dict[str, int]:
    """True labels of the demo pool (for pseudo-label precision only)."""
    lookup = {c: i for i, c in enumerate(MER2024_CLASSES)}
    with open(osp.join(root, 'hidden', 'pool-labels.csv'),
              encoding='utf-8') as f:
        return {row['name']: lookup[row['discrete']]
                for row in csv.DictReader(f)}
