"""Creating folders atomically, so concurrent ranks or a crash never leave
half a dataset behind."""
import os
import os.path as osp
import shutil
import tempfile
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def staged_directory(target: str, done_marker: str) -> Iterator[str]:
    """Yield an empty staging folder that becomes ``target`` on success.

    The folder is written next to ``target`` and renamed in one step when the
    ``with`` block ends without error; on error it is deleted. Losing a race
    to another process that created ``target`` first (with ``done_marker``
    inside) is not an error: both wrote the same deterministic content.

    Args:
        target: the folder to create.
        done_marker: a file name inside ``target`` whose presence shows it is
            complete.
    """
    parent = osp.dirname(osp.abspath(target))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.staging-', dir=parent)
    try:
        staging = osp.join(tmp, 'data')
        os.makedirs(staging)
        yield staging
        try:
            os.rename(staging, target)
        except OSError:
            if not osp.isfile(osp.join(target, done_marker)):
                raise  # not a lost race: a real error
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is never a torn file.

    The bytes go to a hidden temporary file in the same folder, are fsynced,
    then renamed over ``path`` in one step: a full disk or a kill leaves the
    old file (or none), never a truncated one under the final name.

    Raises:
        OSError: the write failed (e.g. ``ENOSPC``); the message names
            ``path`` and the temporary file is removed.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-',
                               suffix='-' + osp.basename(path))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        _remove_quietly(tmp)
        raise OSError(err.errno, f'cannot write {path!r} ({len(data)} bytes): '
                      f'{err.strerror or err}; nothing was written under '
                      'that name') from err
    except BaseException:
        _remove_quietly(tmp)
        raise


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


@contextmanager
def replaced_atomically(path: str) -> Iterator[str]:
    """Yield a temporary path next to ``path`` that replaces it in one step
    when the block succeeds, so a concurrent reader (another job on a shared
    work dir) never sees half a file. The extension is kept (``x.py`` ->
    ``x.<pid>.tmp.py``) for writers that pick the format from it.
    """
    stem, ext = osp.splitext(path)
    tmp = f'{stem}.{os.getpid()}.tmp{ext}'
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
