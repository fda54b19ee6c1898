"""Checkpoint loading that never executes code from the file by default.

Policy (documented in docs/checkpoints.md):

* **Default, for every file** — a restricted unpickler: only the data types a
  torch / MMEngine checkpoint contains may be rebuilt (tensors, containers,
  numpy arrays and scalars, MMEngine's ``HistoryBuffer``). A pickle that asks
  for anything else (``os.system``, a plugin's class, ...) is refused with
  the name of the offending global. torch >= 2.6 flips ``torch.load`` to
  ``weights_only=True``, which rejects MMEngine checkpoints outright because
  its allow-list cannot express ``getattr(HistoryBuffer, 'mean')``; our
  unpickler allows exactly that and nothing wider.
* **Opt-in full trust** — ``trusted=True`` (``--trust-checkpoint`` in the
  tools) loads with plain pickle, for files *you* produced that hold custom
  objects. Never use it for files from elsewhere.

Remote checkpoints (``http(s)://``, ``s3://``, ``open-mmlab://``,
``torchvision://``, ...) are first downloaded to a cache file
(:mod:`.checkpoint_sources`), then loaded by the same policy: a URL never
means more trust than a local path.

Importing this module changes nothing in MMEngine. Whoever builds a Runner
calls :func:`use_safe_checkpoint_loader` (``build_runner`` in
:mod:`.runner` does), which puts the loader in front of every scheme
MMEngine's ``CheckpointLoader`` knows (local paths included), so the Runner's
``load_from`` and ``resume`` use it whatever they name.
"""
import pickle
from typing import Any, Dict

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from .checkpoint_sources import fetch_checkpoint, is_remote

_HISTORY_BUFFER_METHODS = frozenset(HistoryBuffer._statistics_methods) | {
    'min', 'max', 'current', 'mean'}


class UnsafeCheckpointError(pickle.UnpicklingError):
    """The checkpoint asks for a global outside the allow-list."""


def _guarded_getattr(obj: Any, name: str) -> Any:
    # MMEngine pickles HistoryBuffer's statistic methods as
    # getattr(HistoryBuffer, 'mean'); allow that and nothing else.
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(obj, name)
    raise UnsafeCheckpointError(
        f'refusing getattr({obj!r}, {name!r}) while unpickling a checkpoint')


def _allowed_globals() -> Dict[str, Any]:
    from torch._weights_only_unpickler import _get_allowed_globals
    allowed = dict(_get_allowed_globals())
    numpy_types = [np.ndarray, np.dtype, np.bool_, np.float16, np.float32,
                   np.float64, np.int8, np.int16, np.int32, np.int64,
                   np.uint8, np.uint16, np.uint32, np.uint64]
    for obj in numpy_types:
        allowed[f'numpy.{obj.__name__}'] = obj
    for dtype_cls in {type(np.dtype(t)) for t in numpy_types[3:]}:
        allowed[f'numpy.dtypes.{dtype_cls.__name__}'] = dtype_cls
    from numpy._core import multiarray
    allowed['numpy._core.multiarray._reconstruct'] = multiarray._reconstruct
    allowed['numpy._core.multiarray.scalar'] = multiarray.scalar
    allowed['numpy.core.multiarray._reconstruct'] = multiarray._reconstruct
    allowed['numpy.core.multiarray.scalar'] = multiarray.scalar
    allowed['mmengine.logging.history_buffer.HistoryBuffer'] = HistoryBuffer
    allowed['builtins.getattr'] = _guarded_getattr
    allowed['__builtin__.getattr'] = _guarded_getattr
    for name in ('dict', 'list', 'tuple', 'set', 'frozenset', 'int', 'float',
                 'str', 'bytes', 'bool', 'slice', 'complex', 'bytearray'):
        allowed[f'builtins.{name}'] = getattr(__builtins__, name) if \
            not isinstance(__builtins__, dict) else __builtins__[name]
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    allowed: Dict[str, Any] = {}

    def find_class(self, module: str, name: str) -> Any:
        key = f'{module}.{name}'
        if key in self.allowed:
            return self.allowed[key]
        raise UnsafeCheckpointError(
            f'the checkpoint needs {key!r}, which the safe loader does not '
            'rebuild (it could run code). If you produced this file yourself, '
            'load it with --trust-checkpoint / trust_checkpoints(True).')


class _RestrictedPickleModule:
    """The ``pickle_module`` interface ``torch.load`` expects."""

    Unpickler = _RestrictedUnpickler
    UnpicklingError = pickle.UnpicklingError

    @staticmethod
    def load(file, **kwargs):
        return _RestrictedUnpickler(file, **kwargs).load()


def load_checkpoint_file(path: str, map_location: Any = 'cpu',
                         trusted: bool = False) -> Any:
    """Load a checkpoint file or URL with the policy above.

    Args:
        path: a local ``.pth`` file, or a URL / scheme MMEngine knows
            (downloaded to a cache file first).
        map_location: as in :func:`torch.load`.
        trusted: allow full pickle for this call.

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: the file needs a global outside the
            allow-list and trust was not granted.
        RuntimeError: the file is not a readable checkpoint (empty,
            truncated, not written by ``torch.save``), a download failed,
            or its weights hold NaN/Inf; names the file.
    """
    import os.path as osp
    source, is_mmcls = path, False
    if is_remote(path):
        path, is_mmcls = fetch_checkpoint(path)
    path = osp.expanduser(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist')
    options = dict(map_location=map_location, weights_only=False)
    if not trusted:
        if not _RestrictedUnpickler.allowed:
            _RestrictedUnpickler.allowed = _allowed_globals()
        options['pickle_module'] = _RestrictedPickleModule
    name = path if source == path else f'{source} (cached as {path})'
    try:
        checkpoint = torch.load(path, **options)
    except UnsafeCheckpointError as err:
        raise UnsafeCheckpointError(f'{name}: {err}') from None
    except (pickle.UnpicklingError, EOFError, RuntimeError, OSError) as err:
        # torch's own messages ("Ran out of input", "invalid load key",
        # "[Errno 22] Invalid argument") name neither the file nor what was
        # expected.
        raise RuntimeError(
            f'cannot load checkpoint {name!r} ({osp.getsize(path)} bytes; '
            'expected a file written by torch.save, is it truncated?): '
            f'{type(err).__name__}: {err}') from err
    _check_finite_weights(checkpoint, name)
    if is_mmcls:
        from mmengine.runner.checkpoint import _process_mmcls_checkpoint
        checkpoint = _process_mmcls_checkpoint(checkpoint)
    return checkpoint


def _check_finite_weights(checkpoint: Any, name: str) -> None:
    # A diverged run saves NaN weights; caught here they are not mistaken
    # for a data or prediction problem later.
    weights = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else {}
    bad = {key: int((~torch.isfinite(value)).sum())
           for key, value in weights.items()
           if isinstance(value, torch.Tensor) and value.is_floating_point()
           and not torch.isfinite(value).all()}
    if bad:
        raise RuntimeError(
            f'checkpoint {name!r} holds non-finite weights (NaN/Inf count '
            f'per tensor: {bad}); expected finite values: the run that '
            'saved it diverged, use an earlier checkpoint')


def use_safe_checkpoint_loader(trusted: bool = False) -> None:
    """Make MMEngine's ``CheckpointLoader`` (the Runner's ``load_from``,
    ``resume`` and ``load_checkpoint``) load every scheme it knows through
    :func:`load_checkpoint_file`.

    Call it once before the Runner loads anything; calling it again (e.g.
    with another ``trusted``) replaces the earlier registration.

    Args:
        trusted: full pickle for every file the Runner loads (only for files
            you produced; ``--trust-checkpoint`` in the tools).
    """
    def load_from_mer_safe_loader(filename: str,
                                  map_location: Any = None) -> Any:
        # MMEngine logs this name minus "load_from_" as the backend used
        return load_checkpoint_file(filename, map_location, trusted=trusted)

    # Local paths are the '' prefix; no scheme keeps MMEngine's full pickle.
    CheckpointLoader.register_scheme(
        prefixes=list(CheckpointLoader._schemes),
        loader=load_from_mer_safe_loader, force=True)


def trust_checkpoints(enabled: bool = True) -> None:
    """Opt the Runner's loading in (or out) of full pickle; the same as
    ``use_safe_checkpoint_loader(trusted=enabled)``."""
    use_safe_checkpoint_loader(trusted=enabled)


__all__ = ['load_checkpoint_file', 'trust_checkpoints', 'UnsafeCheckpointError',
           'use_safe_checkpoint_loader']
