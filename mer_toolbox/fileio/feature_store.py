"""On-disk feature stores: the MERTools layout and a packed, memory-mapped one.

One *feature set* (e.g. ``clip-vit-large-patch14-UTT``) is one folder:

* **npy layout** (MERTools): ``<folder>/<clip>.npy`` holding ``(D,)``
  (utterance level) or ``(T, D)`` (frame level) float arrays.
* **packed layout**: ``<folder>/packed.json`` (``level``, ``dim``, ``count``),
  ``<folder>/names.txt`` (one clip per line), ``<folder>/data.npy`` —
  ``(N, D)`` for utterance level, or ``(sum T, D)`` with
  ``<folder>/offsets.npy`` ``(N + 1,)`` for frame level. ``data.npy`` is
  memory-mapped, so a 115k-clip pool costs no RAM until rows are read.

Both are read through :func:`open_feature_store`; ``layout='auto'`` picks the
packed reader when ``packed.json`` exists.
"""
import io
import json
import os
import os.path as osp
import shutil
import stat
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .atomic import write_bytes_atomic
from .clip_name import normalise_clip_name

PACKED_META = 'packed.json'
PACKED_FORMAT = 'mer_toolbox.packed'


def check_feature(array: np.ndarray, where: str,
                  expected_dim: Optional[int] = None) -> np.ndarray:
    """Validate one clip's features; raise ``ValueError`` naming ``where``.

    Args:
        array: ``(D,)`` or ``(T, D)`` features.
        where: human-readable location (store folder + clip) for messages.
        expected_dim: the feature size the config promised, if any.
    """
    if array.ndim not in (1, 2):
        raise ValueError(f'{where}: expected a (D,) or (T, D) array, got '
                         f'shape {tuple(array.shape)}')
    if array.ndim == 2 and array.shape[0] == 0:
        raise ValueError(f'{where}: frame-level features have 0 frames')
    if expected_dim is not None and array.shape[-1] != expected_dim:
        raise ValueError(f'{where}: expected feature dimension {expected_dim} '
                         f'(from the config), got {array.shape[-1]}')
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f'{where}: expected floating-point features, got '
                         f'dtype {array.dtype}')
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise ValueError(f'{where}: {bad} NaN/Inf value(s) in the features')
    return array


class NpyFeatureStore:
    """Reader for the MERTools layout: one ``<clip>.npy`` per clip.

    Args:
        folder: the feature-set folder.
    """

    layout = 'npy'

    def __init__(self, folder: str) -> None:
        if not osp.isdir(folder):
            raise FileNotFoundError(f'feature folder {folder!r} does not exist')
        self.folder = folder
        # NFC clip name -> file name on disk (which may be NFD, e.g. written
        # on macOS): names from CSVs are NFC too, so both spellings meet
        self._files = {
            normalise_clip_name(entry.name[:-4]): entry.name
            for entry in os.scandir(folder)
            if entry.name.endswith('.npy') and not entry.name.startswith('.')
        }

    def names(self) -> List[str]:
        return sorted(self._files)

    def __contains__(self, name: str) -> bool:
        return name in self._files

    def __len__(self) -> int:
        return len(self._files)

    def path(self, name: str) -> str:
        return osp.join(self.folder, self._files.get(name, f'{name}.npy'))

    def load(self, name: str) -> np.ndarray:
        path = self.path(name)
        try:
            _check_npy_file(path, name)
            return np.load(path, allow_pickle=False)
        except FileNotFoundError:
            raise FileNotFoundError(
                f'missing feature file {path} for clip {name!r}') from None
        except NpyFileError:
            raise
        except (ValueError, OSError, EOFError) as err:
            # Without the .npy magic numpy says "pickled data" and suggests
            # allow_pickle, which is never the fix for a feature file.
            with open(path, 'rb') as f:
                npy = f.read(6) == b'\x93NUMPY'
            raise ValueError(f'{path}: unreadable feature file for clip '
                             f'{name!r} ({err if npy else "no .npy header"}'
                             '); expected an array written by np.save'
                             ) from err

    def load_rows(self, names: Sequence[str]) -> np.ndarray:
        """Utterance-level features of ``names`` stacked ``(N, D)``
        (unvalidated; callers check values)."""
        return np.stack([self.load(n) for n in names])


class NpyFileError(ValueError):
    """A ``.npy`` entry that must not be opened (see :func:`_check_npy_file`)."""


def _check_npy_file(path: str, name: str) -> None:
    # Before np.load: a directory gives a bare traceback, a FIFO blocks
    # forever, and a header declaring a huge shape allocates that much
    # memory before noticing the file is short.
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        kind = 'a directory' if stat.S_ISDIR(mode) else \
            'a FIFO' if stat.S_ISFIFO(mode) else 'not a regular file'
        raise NpyFileError(f'{path}: the feature file of clip {name!r} is '
                           f'{kind}; expected an array written by np.save')
    with open(path, 'rb') as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0
                           if version == (1, 0) else
                           np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(f)
        except (ValueError, OSError, EOFError):
            return  # np.load reports the broken header itself
        size = os.fstat(f.fileno()).st_size
        needed = f.tell() + int(np.prod(shape, dtype=np.float64)) * \
            dtype.itemsize
    if needed > size:
        raise NpyFileError(
            f'{path}: unreadable feature file for clip {name!r} (its header '
            f'declares shape {shape} {dtype}, {needed} bytes, but the file '
            f'has {size}); expected an array written by np.save, is it '
            'truncated?')


class PackedFeatureStore:
    """Reader for the packed layout (see module doc); rows are memory-mapped.

    Args:
        folder: the packed feature-set folder.
    """

    layout = 'packed'

    def __init__(self, folder: str) -> None:
        meta_path = osp.join(folder, PACKED_META)
        if not osp.isfile(meta_path):
            raise FileNotFoundError(f'{meta_path} not found: {folder!r} is '
                                    'not a packed feature store')
        with open(meta_path, encoding='utf-8') as f:
            self.meta = json.load(f)
        if self.meta.get('format') != PACKED_FORMAT:
            raise ValueError(f'{meta_path}: format is '
                             f'{self.meta.get("format")!r}, expected '
                             f'{PACKED_FORMAT!r}')
        self.folder = folder
        with open(osp.join(folder, 'names.txt'), encoding='utf-8') as f:
            names = [normalise_clip_name(line) for line in f if line.strip()]
        self._index: Dict[str, int] = {}
        for i, name in enumerate(names):
            if name in self._index:
                raise ValueError(f'{folder}/names.txt: duplicate clip name '
                                 f'{name!r} (lines {self._index[name] + 1} '
                                 f'and {i + 1})')
            self._index[name] = i
        self.data = np.load(osp.join(folder, 'data.npy'), mmap_mode='r')
        self.frame_level = self.meta['level'] == 'frame'
        count = len(names)
        if self.frame_level:
            self.offsets = np.load(osp.join(folder, 'offsets.npy'))
            if len(self.offsets) != count + 1 or \
                    self.offsets[-1] != self.data.shape[0]:
                raise ValueError(f'{folder}: offsets.npy does not match '
                                 'names.txt / data.npy')
        elif self.data.shape[0] != count:
            raise ValueError(f'{folder}: data.npy has {self.data.shape[0]} '
                             f'rows but names.txt lists {count} clips')

    def names(self) -> List[str]:
        return list(self._index)

    def __contains__(self, name: str) -> bool:
        return name in self._index

    def __len__(self) -> int:
        return len(self._index)

    def row_index(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise FileNotFoundError(
                f'clip {name!r} is not in packed store {self.folder}') from None

    def load(self, name: str) -> np.ndarray:
        i = self.row_index(name)
        if self.frame_level:
            rows = self.data[self.offsets[i]:self.offsets[i + 1]]
        else:
            rows = self.data[i]
        return np.array(rows)  # copy out of the read-only memory map

    def load_rows(self, names: Sequence[str]) -> np.ndarray:
        """Utterance-level features of ``names`` as one ``(N, D)`` array.

        Contiguous names cost one slice of the memory map (the bulk path of
        pseudo-labelling a large pool); others a fancy index.

        Raises:
            ValueError: the store is frame level.
        """
        if self.frame_level:
            raise ValueError(f'load_rows needs utterance-level features; '
                             f'{self.folder} is frame level')
        rows = np.array([self.row_index(n) for n in names], dtype=np.int64)
        if len(rows) and (np.diff(rows) == 1).all():
            return np.asarray(self.data[rows[0]:rows[-1] + 1])
        return np.asarray(self.data[rows])


def open_feature_store(folder: str, layout: str = 'auto'):
    """Open one feature-set folder in the given (or detected) layout.

    Args:
        folder: feature-set folder.
        layout: ``'auto'``, ``'npy'`` or ``'packed'``.
    """
    if layout == 'auto':
        layout = 'packed' if osp.isfile(osp.join(folder, PACKED_META)) else 'npy'
    if layout == 'npy':
        return NpyFeatureStore(folder)
    if layout == 'packed':
        return PackedFeatureStore(folder)
    raise ValueError(f'unknown feature layout {layout!r}; expected one of '
                     "'auto', 'npy', 'packed'")


def save_npy_atomic(path: str, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` so a crash never leaves a truncated file
    (:func:`mer_toolbox.fileio.atomic.write_bytes_atomic`)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    write_bytes_atomic(path, buffer.getvalue())


def write_packed_store(folder: str, items: Iterable[Tuple[str, np.ndarray]],
                       dtype: str = 'float32') -> int:
    """Write clips into a packed store at ``folder`` (replaced atomically).

    Args:
        folder: destination feature-set folder.
        items: ``(name, array)`` pairs, all ``(D,)`` or all ``(T, D)``.
        dtype: storage dtype.

    Returns:
        The number of clips written.
    """
    names, arrays = [], []
    for name, array in items:
        names.append(name)
        arrays.append(np.asarray(array, dtype=dtype))
    if not names:
        raise ValueError(f'refusing to write an empty packed store {folder}')
    if len(set(names)) != len(names):
        raise ValueError(f'duplicate clip names while packing {folder}')
    levels = {a.ndim for a in arrays}
    dims = {a.shape[-1] for a in arrays}
    if len(levels) != 1 or len(dims) != 1:
        raise ValueError(f'cannot pack {folder}: mixed shapes '
                         f'(ndims {sorted(levels)}, dims {sorted(dims)})')
    frame_level = levels.pop() == 2
    tmp = folder.rstrip('/') + '.tmp-packing'
    os.makedirs(tmp, exist_ok=True)
    if frame_level:
        lengths = np.array([len(a) for a in arrays], dtype=np.int64)
        np.save(osp.join(tmp, 'offsets.npy'),
                np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
        np.save(osp.join(tmp, 'data.npy'), np.concatenate(arrays, axis=0))
    else:
        np.save(osp.join(tmp, 'data.npy'), np.stack(arrays))
    with open(osp.join(tmp, 'names.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(names) + '\n')
    meta = dict(format=PACKED_FORMAT, version=1,
                level='frame' if frame_level else 'utterance',
                dim=int(dims.pop()), count=len(names), dtype=dtype)
    with open(osp.join(tmp, PACKED_META), 'w', encoding='utf-8') as f:
        json.dump(meta, f, indent=2)
    if osp.exists(folder):
        import shutil
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    return len(names)


def pack_npy_store(src: str, dst: str, names: Optional[List[str]] = None,
                   dtype: str = 'float32') -> int:
    """Convert an npy-layout feature set into the packed layout."""
    store = NpyFeatureStore(src)
    names = store.names() if names is None else names
    return write_packed_store(
        dst, ((n, check_feature(store.load(n), f'{src}/{n}.npy'))
              for n in names), dtype=dtype)


def write_packed_store_streaming(folder: str, names: Sequence[str], dim: int,
                                 chunks: Iterable[np.ndarray],
                                 dtype: str = 'float32') -> int:
    """Write an utterance-level packed store chunk by chunk.

    The same files as :func:`write_packed_store` (byte-identical for the
    same rows), but ``data.npy`` is a memory map filled one chunk at a time,
    so memory stays at one chunk however large the store (a 115k-clip pool
    of 4096-d features is ~1.9 GB on disk). Replaced atomically.

    Args:
        folder: destination feature-set folder.
        names: clip names, one per row, in row order.
        dim: feature size ``D``.
        chunks: ``(n_i, D)`` arrays whose rows follow ``names``; the
            ``n_i`` must add up to ``len(names)``.
        dtype: storage dtype.

    Returns:
        The number of clips written.

    Raises:
        ValueError: no names, duplicate names, a chunk of the wrong shape,
            NaN/Inf values (naming the first clip) or too few / many rows.
    """
    names = list(names)
    if not names:
        raise ValueError(f'refusing to write an empty packed store {folder}')
    if len(set(names)) != len(names):
        raise ValueError(f'duplicate clip names while packing {folder}')
    tmp = folder.rstrip('/') + '.tmp-packing'
    if osp.exists(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    try:
        data = np.lib.format.open_memmap(osp.join(tmp, 'data.npy'), mode='w+',
                                         dtype=dtype, shape=(len(names), dim))
        row = 0
        for chunk in chunks:
            chunk = np.asarray(chunk)
            if chunk.ndim != 2 or chunk.shape[1] != dim:
                raise ValueError(f'packing {folder}: expected (n, {dim}) '
                                 f'chunks, got {chunk.shape} at row {row}')
            if row + len(chunk) > len(names):
                raise ValueError(f'packing {folder}: more rows than the '
                                 f'{len(names)} names')
            finite = np.isfinite(chunk).all(1)  # (n,)
            if not finite.all():
                bad = names[row + int(np.flatnonzero(~finite)[0])]
                raise ValueError(f'packing {folder}: NaN/Inf value(s) in the '
                                 f'features of clip {bad!r}')
            data[row:row + len(chunk)] = chunk
            row += len(chunk)
        if row != len(names):
            raise ValueError(f'packing {folder}: {row} rows for '
                             f'{len(names)} names')
        data.flush()
        del data
        with open(osp.join(tmp, 'names.txt'), 'w', encoding='utf-8') as f:
            f.write('\n'.join(names) + '\n')
        meta = dict(format=PACKED_FORMAT, version=1, level='utterance',
                    dim=int(dim), count=len(names), dtype=dtype)
        with open(osp.join(tmp, PACKED_META), 'w', encoding='utf-8') as f:
            json.dump(meta, f, indent=2)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if osp.exists(folder):
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    return len(names)
