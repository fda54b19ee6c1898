"""Local file writes that never leave a torn file under a valid name.

MMEngine writes every checkpoint through the file backend of its path; for
local paths that is ``LocalBackend.put``, an ``open(path, 'wb').write``. On a
full disk or a kill that leaves a truncated ``best_*.pth`` that a later stage
picks up. Importing this module registers :class:`AtomicLocalBackend` as the
``local`` backend: the same class with ``put`` / ``put_text`` going through
:func:`mer_toolbox.fileio.atomic.write_bytes_atomic` (temporary file, fsync,
rename; the error names the file).
"""
from pathlib import Path
from typing import Union

from mmengine.fileio.backends import LocalBackend, register_backend

from ..fileio.atomic import write_bytes_atomic


class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose writes are all-or-nothing."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        write_bytes_atomic(str(filepath), obj)

    def put_text(self, obj: str, filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        write_bytes_atomic(str(filepath), obj.encode(encoding))


register_backend('local', AtomicLocalBackend, force=True, prefixes='')
