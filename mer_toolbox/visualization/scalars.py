"""Read the scalar log MMEngine writes for a run.

``LocalVisBackend`` appends one JSON object per line to
``<work_dir>/<timestamp>/vis_data/scalars.json``:

* training lines carry ``epoch``, ``iter`` (``step == iter``), ``lr`` and the
  loss terms (``loss``, ``loss_cls``, ``loss_bdcl_inter`` ...);
* validation lines carry the metrics (``emotion/waf`` ...) with ``step`` =
  the epoch just finished, and no ``iter`` key.

A resumed run starts a new timestamp folder; :func:`load_run_scalars` reads
them in time order and lets a later line replace an earlier one of the same
step, so the result is the history the final model actually went through.
"""
import glob
import json
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional

#: The key the default recipe selects its best checkpoint by.
DEFAULT_METRIC = 'emotion/waf'


@dataclass
class RunScalars:
    """Training and validation records of one run, sorted by step.

    Attributes:
        train: training records (``iter``, ``epoch``, ``lr``, losses).
        val: validation records (``step`` = epoch, metric keys).
        sources: the ``scalars.json`` files read, oldest first.
    """

    train: List[dict]
    val: List[dict]
    sources: List[str]


def read_scalars(path: str) -> List[dict]:
    """Parse one ``scalars.json`` (one JSON object per line).

    Raises:
        ValueError: a line is not a JSON object (the file and line number
            are named).
    """
    records = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}:{lineno}: not JSON ({err})') from None
            if not isinstance(record, dict) or 'step' not in record:
                raise ValueError(f'{path}:{lineno}: expected an object with a '
                                 f'"step", got {line.strip()[:80]!r}')
            records.append(record)
    return records


def find_scalar_logs(work_dir: str) -> List[str]:
    """``<work_dir>/<timestamp>/vis_data/scalars.json`` files, oldest first.

    MMEngine's timestamps (``YYYYmmdd_HHMMSS``) sort chronologically as text.
    """
    return sorted(glob.glob(osp.join(glob.escape(work_dir), '*', 'vis_data',
                                     'scalars.json')))


def load_run_scalars(path: str) -> RunScalars:
    """Training and validation history of a work dir or one ``scalars.json``.

    Raises:
        FileNotFoundError: the work dir holds no scalar log (it was run
            without ``LocalVisBackend``, or never trained).
    """
    sources = [path] if osp.isfile(path) else find_scalar_logs(path)
    if not sources:
        raise FileNotFoundError(
            f'no <timestamp>/vis_data/scalars.json under {path!r}; was it '
            "trained with vis_backends=[dict(type='LocalVisBackend'), ...]?")
    train: Dict[int, dict] = {}
    val: Dict[int, dict] = {}
    for source in sources:
        for record in read_scalars(source):
            target = train if 'iter' in record else val
            target[int(record['step'])] = record
    return RunScalars(train=[train[k] for k in sorted(train)],
                      val=[val[k] for k in sorted(val)], sources=sources)


def best_val_record(val: List[dict], metric: str = DEFAULT_METRIC
                    ) -> Optional[dict]:
    """The validation record with the highest ``metric``; ``None`` if none has it.

    Ties go to the earliest epoch, as MMEngine's ``CheckpointHook`` keeps the
    first checkpoint that reached a score (rule ``'greater'``).
    """
    scored = [r for r in val if metric in r]
    if not scored:
        return None
    return max(scored, key=lambda r: (r[metric], -r['step']))


def last_val_record(val: List[dict], metric: str = DEFAULT_METRIC
                    ) -> Optional[dict]:
    """The latest validation record that has ``metric``; ``None`` if none."""
    scored = [r for r in val if metric in r]
    return max(scored, key=lambda r: r['step']) if scored else None


def loss_keys(train: List[dict]) -> List[str]:
    """Logged loss terms, total ``loss`` first, then the rest by name."""
    keys = sorted({k for r in train for k in r if k.startswith('loss')})
    return sorted(keys, key=lambda k: (k != 'loss', k))
