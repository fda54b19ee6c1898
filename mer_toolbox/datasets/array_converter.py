"""Arrays in memory (npz files, MMSA-style pickles) -> a feature folder.

The feature-folder layout is described in :mod:`.feature_folder_dataset`.
Sources:

* **npz** with keys ``<split>__<modality>`` ``(N, D)`` / ``(N, T, D)``,
  ``<split>__y`` ``(N,)`` class indices, optional ``<split>__names``,
  ``classes`` and ``modalities``; any other ``<split>__<column>`` key of
  shape ``(N,)`` (a speaker id, say) becomes a column of the label CSV.
* **MMSA-style pickle**: ``{split: {'id': (N,), 'vision' | 'audio' | 'text':
  (N, [T,] D), '<label key>': (N,) ...}}`` with splits ``train`` /
  ``valid`` / ``test`` (``valid`` is written as ``val``) and optional
  ``<modality>_lengths`` that trim padded frames.
"""
import csv
import os
import os.path as osp
import pickle
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..fileio.feature_store import save_npy_atomic, write_packed_store
from .feature_folder_dataset import CLASSES_FILE

SPLITS = ('train', 'val', 'test')
MMSA_MODALITIES = {'vision': 'video', 'audio': 'audio', 'text': 'text'}


def _names_for(split: str, count: int) -> List[str]:
    return [f'{split}_{i:06d}' for i in range(count)]


def read_npz_splits(path: str) -> dict:
    """Read an npz of ``<split>__<key>`` arrays (see the module docstring).

    Returns:
        ``dict(classes=[...] or None, splits={split: dict(features={m: array},
        labels=(N,) int, names=[...], columns={col: (N,)})})``.
    """
    z = np.load(path, allow_pickle=False)
    keys = list(z.keys())
    classes = [str(c) for c in z['classes']] if 'classes' in keys else None
    modalities = ([str(m) for m in z['modalities']] if 'modalities' in keys
                  else [k.split('__', 1)[1] for k in keys
                        if k.startswith('train__') and
                        k.split('__', 1)[1] in ('video', 'audio', 'text')])
    splits = {}
    for split in SPLITS:
        if f'{split}__y' not in keys:
            continue
        labels = np.asarray(z[f'{split}__y'])
        names = ([str(n) for n in z[f'{split}__names']]
                 if f'{split}__names' in keys
                 else _names_for(split, len(labels)))
        features = {}
        for m in modalities:
            key = f'{split}__{m}'
            if key not in keys:
                raise KeyError(f'{path}: no {key!r} array (the file lists '
                               f'modalities {modalities})')
            features[m] = z[key]
        known = {'y', 'names', *modalities}
        columns = {k.split('__', 1)[1]: z[k] for k in keys
                   if k.startswith(f'{split}__')
                   and k.split('__', 1)[1] not in known
                   and z[k].shape == labels.shape}
        splits[split] = dict(features=features, labels=labels, names=names,
                             columns=columns)
    if not splits:
        raise ValueError(f'{path}: no <split>__y arrays for any of {SPLITS}')
    return dict(classes=classes, splits=splits)


def read_mmsa_pickle(path: str, label_key: str = 'classification_labels'
                     ) -> dict:
    """Read an MMSA-style pickle (see the module docstring).

    Only open pickles you trust: unpickling can run code.
    """
    with open(path, 'rb') as f:
        data = pickle.load(f)  # noqa: S301 (documented: trusted files only)
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a dict of splits, got '
                         f'{type(data).__name__}')
    splits = {}
    for source, split in (('train', 'train'), ('valid', 'val'),
                          ('val', 'val'), ('test', 'test')):
        part = data.get(source)
        if part is None or split in splits:
            continue
        if label_key not in part:
            raise KeyError(f'{path}: split {source!r} has no {label_key!r} '
                           f'(keys: {sorted(part)}); pass --label-key')
        labels = np.asarray(part[label_key]).reshape(-1)
        if not np.allclose(labels, np.round(labels)):
            raise ValueError(f'{path}: {source}/{label_key} holds '
                             'non-integer values; expected class indices')
        labels = np.round(labels).astype(np.int64)
        names = ([str(n) for n in part['id']] if 'id' in part
                 else _names_for(split, len(labels)))
        features = {}
        for key, m in MMSA_MODALITIES.items():
            if key not in part:
                continue
            array = np.asarray(part[key], dtype=np.float32)
            lengths = part.get(f'{key}_lengths')
            if array.ndim == 3 and lengths is not None:
                array = [a[:max(int(n), 1)] for a, n in zip(array, lengths)]
            features[m] = array
        splits[split] = dict(features=features, labels=labels, names=names,
                             columns={})
    if not splits:
        raise ValueError(f'{path}: no train / valid / test split found '
                         f'(keys: {sorted(data)})')
    return dict(classes=None, splits=splits)


def write_feature_folder(out: str, splits: Dict[str, dict],
                         classes: Sequence[str], layout: str = 'npy') -> dict:
    """Write ``splits`` (as read above) as a feature folder at ``out``.

    Args:
        out: destination folder (created).
        splits: ``{split: dict(features, labels, names, columns)}``.
        classes: class names in label-index order.
        layout: ``'npy'`` (MERTools, one file per clip) or ``'packed'``.

    Returns:
        ``{split: clip count}``.

    Raises:
        ValueError: a label outside the class list, a clip name used twice
            (within or across splits), or arrays whose lengths disagree;
            each message names the split and the array.
    """
    if layout not in ('npy', 'packed'):
        raise ValueError(f"layout must be 'npy' or 'packed', got {layout!r}")
    classes = [str(c) for c in classes]
    seen: Dict[str, str] = {}
    for split, part in splits.items():
        count = len(part['labels'])
        bad = [int(y) for y in part['labels'] if not 0 <= int(y) < len(classes)]
        if bad:
            raise ValueError(f'{split}: labels {sorted(set(bad))[:5]} are '
                             f'outside the {len(classes)} classes {classes}')
        for m, array in part['features'].items():
            if len(array) != count:
                raise ValueError(f'{split}: {m} has {len(array)} rows for '
                                 f'{count} labels')
        for name in part['names']:
            if name in seen:
                raise ValueError(f'clip name {name!r} appears in {seen[name]} '
                                 f'and {split}')
            seen[name] = split
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, CLASSES_FILE), 'w', encoding='utf-8') as f:
        f.write('\n'.join(classes) + '\n')
    modalities = sorted({m for p in splits.values() for m in p['features']})
    for m in modalities:
        items = [(n, np.asarray(a, dtype=np.float32))
                 for p in splits.values()
                 for n, a in zip(p['names'], p['features'].get(m, []))]
        folder = osp.join(out, m)
        if layout == 'packed':
            write_packed_store(folder, items)
            continue
        os.makedirs(folder, exist_ok=True)
        for name, array in items:
            save_npy_atomic(osp.join(folder, f'{name}.npy'), array)
    for split, part in splits.items():
        _write_split_csv(osp.join(out, f'label-{split}.csv'), part, classes)
    return {split: len(part['labels']) for split, part in splits.items()}


def _write_split_csv(path: str, part: dict, classes: List[str]) -> None:
    columns = part.get('columns') or {}
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(['name', 'discrete', *columns])
        for i, name in enumerate(part['names']):
            writer.writerow([name, classes[int(part['labels'][i])],
                             *(_cell(columns[c][i]) for c in columns)])


def _cell(value) -> str:
    return str(value.item() if hasattr(value, 'item') else value)


def load_arrays(path: str, label_key: str = 'classification_labels',
                classes: Optional[Sequence[str]] = None) -> dict:
    """Read ``path`` (``.npz`` or a pickle) and settle the class list.

    ``classes`` overrides / supplies the class names; without either, the
    classes are named by index (``'0'``, ``'1'``, ...).
    """
    if path.endswith('.npz'):
        data = read_npz_splits(path)
    else:
        data = read_mmsa_pickle(path, label_key)
    if classes is not None:
        data['classes'] = list(classes)
    if data['classes'] is None:
        top = max(int(np.max(p['labels'])) for p in data['splits'].values())
        data['classes'] = [str(i) for i in range(top + 1)]
    return data
