"""The prior store: an append-only JSONL file, one validated record per line.

Why JSONL and append-only: a generation run writes each record the moment its
call finishes (write + flush + fsync), so a kill loses at most the calls in
flight, and nothing already written is ever rewritten. A crash can tear only
the last line; readers skip a last line without its newline (with a warning)
and the next writer cuts it off before appending. A malformed line anywhere
else is corruption and raises with the file and line number.

Several records may share a key ``(name, teacher, prompt_version)`` (a failed
call retried later): the last ok record wins, else the last failure. One
writer at a time is enforced with an advisory lock file (``<store>.lock``)
where the OS supports it.
"""
import json
import logging
import os
import os.path as osp
from typing import Dict, Iterator, Optional, Sequence, Set, Tuple

from .prior_record import PriorRecord, PriorValidationError

try:  # POSIX only; elsewhere the single-writer rule is the user's job.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

logger = logging.getLogger(__name__)
Key = Tuple[str, str, str]


def iter_records(path: str, classes: Optional[Sequence[str]] = None
                 ) -> Iterator[PriorRecord]:
    """Yield every record of the store at ``path``, validated, in file order.

    Args:
        path: the ``.jsonl`` store; a missing file yields nothing.
        classes: when given, ok records must use exactly these classes.

    Raises:
        ValueError: a line other than a torn last line is not a valid record.
    """
    if not osp.exists(path):
        return
    with open(path, 'rb') as f:
        for lineno, line in enumerate(f, 1):
            if not line.endswith(b'\n'):
                # Only the last line can lack its newline: a write that was
                # interrupted. Its record was never complete.
                if line.strip():
                    logger.warning('%s: ignoring a torn last line (%d bytes) '
                                   'left by an interrupted write', path,
                                   len(line))
                return
            if not line.strip():
                continue
            try:
                record = PriorRecord.from_dict(json.loads(line))
                yield record.validate(classes)
            except (ValueError, TypeError) as err:
                raise ValueError(f'{path}:{lineno}: not a valid prior '
                                 f'record: {err}') from err


def latest_records(path: str, classes: Optional[Sequence[str]] = None
                   ) -> Dict[Key, PriorRecord]:
    """Key -> its record: the last ok one, else the last one written.

    An ok record is never shadowed by a later failure for the same key.
    """
    out: Dict[Key, PriorRecord] = {}
    for record in iter_records(path, classes):
        previous = out.get(record.key)
        if previous is None or record.ok or not previous.ok:
            out[record.key] = record
    return out


def load_priors(path: str, teacher: Optional[str] = None,
                prompt_version: Optional[str] = None,
                classes: Optional[Sequence[str]] = None,
                ok_only: bool = True) -> Dict[str, PriorRecord]:
    """Load one teacher's priors for training: clip name -> record.

    Args:
        path: the store.
        teacher, prompt_version: which priors to take; may be left out only
            when the store holds a single (teacher, prompt_version) pair.
        classes: the dataset's classes (checked against every ok record).
        ok_only: drop failed records (a clip whose last record failed is
            then absent: stage 2 treats it as a clip without a prior).

    Raises:
        ValueError: the store mixes teachers / prompt versions and none was
            chosen, or a record is invalid.
    """
    records = latest_records(path, classes)
    pairs = sorted({(t, v) for _, t, v in records})
    chosen = [(t, v) for t, v in pairs
              if (teacher is None or t == teacher)
              and (prompt_version is None or v == prompt_version)]
    if len(chosen) > 1:
        raise ValueError(f'{path} holds priors of several teachers / prompt '
                         f'versions {chosen}: pass teacher= and '
                         'prompt_version=')
    out = {}
    for (name, t, v), record in records.items():
        if (t, v) in chosen and (record.ok or not ok_only):
            out[name] = record
    return out


class PriorStoreWriter:
    """Appends records to a store, durably, as the only writer.

    Args:
        path: the ``.jsonl`` store (created with its folder if missing).
        fsync: fsync after every record (a crash then loses nothing written;
            costs well under a millisecond per record on local disks).
    """

    def __init__(self, path: str, fsync: bool = True) -> None:
        self.path = path
        self.fsync = fsync
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        self._lock = open(path + '.lock', 'a')
        if fcntl is not None:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._lock.close()
                raise RuntimeError(f'{path} is being written by another '
                                   'process (lock held on '
                                   f'{path}.lock)') from None
        _cut_torn_tail(path)
        self._file = open(path, 'ab')

    def append(self, record: PriorRecord) -> None:
        """Write one record as one line and make it durable."""
        line = json.dumps(record.to_dict(), ensure_ascii=False) + '\n'
        self._file.write(line.encode('utf-8'))
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()
        self._lock.close()  # closing releases the flock

    def __enter__(self) -> 'PriorStoreWriter':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cut_torn_tail(path: str) -> None:
    """Drop bytes after the last newline (an interrupted write)."""
    if not osp.exists(path):
        return
    with open(path, 'r+b') as f:
        end = f.seek(0, os.SEEK_END)
        pos = end
        while pos > 0:
            step = min(65536, pos)
            f.seek(pos - step)
            chunk = f.read(step)
            newline = chunk.rfind(b'\n')
            if newline >= 0:
                pos = pos - step + newline + 1
                break
            pos -= step
        if pos != end:
            logger.warning('%s: cutting a torn last line (%d bytes)', path,
                           end - pos)
            f.truncate(pos)


def ok_names(path: str, teacher: str, prompt_version: str) -> Set[str]:
    """Clips that already have an ok record for this teacher + prompt."""
    return {name for (name, t, v), r in latest_records(path).items()
            if t == teacher and v == prompt_version and r.ok}


__all__ = ['iter_records', 'latest_records', 'load_priors', 'ok_names',
           'PriorStoreWriter', 'PriorValidationError']
