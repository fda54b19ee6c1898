"""The generation run: which clips still need a prior, and the async loop.

Never paying twice rests on three rules:

1. a clip whose key ``(name, teacher, prompt_version)`` has an ok record in
   the store is never sent again;
2. each record is appended (flush + fsync) the moment its call returns, so a
   kill loses at most the calls in flight;
3. on SIGINT / SIGTERM the loop stops handing out clips and *waits* for the
   calls in flight, recording them too; a second signal aborts at once.

A store that already holds records for this teacher and prompt is only
continued with ``resume=True``; failed clips are sent again only with
``retry_failed=True``.
"""
import asyncio
import logging
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from ..fileio.prior_record import PriorRecord
from ..fileio.prior_store import PriorStoreWriter, latest_records
from .base import BasePriorGenerator
from ..fileio.clip_list import Clip

logger = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """What a run did (``failed`` maps reason -> count)."""
    teacher: str
    prompt_version: str
    planned: int = 0
    skipped_ok: int = 0
    skipped_failed: int = 0
    ok: int = 0
    failed: Counter = field(default_factory=Counter)
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    elapsed: float = 0.0
    interrupted: bool = False

    @property
    def done(self) -> int:
        return self.ok + sum(self.failed.values())

    @property
    def clips_per_second(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    def add(self, record: PriorRecord, cost: float) -> None:
        if record.ok:
            self.ok += 1
        else:
            self.failed[record.reason] += 1
        self.calls += record.attempts
        self.input_tokens += int(record.usage.get('input_tokens', 0))
        self.output_tokens += int(record.usage.get('output_tokens', 0))
        self.cost += cost

    def to_dict(self) -> dict:
        return dict(teacher=self.teacher, prompt_version=self.prompt_version,
                    planned=self.planned, skipped_ok=self.skipped_ok,
                    skipped_failed=self.skipped_failed, ok=self.ok,
                    failed=dict(self.failed), calls=self.calls,
                    input_tokens=self.input_tokens,
                    output_tokens=self.output_tokens,
                    cost_usd=round(self.cost, 6),
                    elapsed_s=round(self.elapsed, 3),
                    clips_per_s=round(self.clips_per_second, 3),
                    interrupted=self.interrupted)

    def format(self) -> str:
        failed = ', '.join(f'{k}: {v}' for k, v in sorted(self.failed.items()))
        lines = [
            f'teacher {self.teacher} / prompt {self.prompt_version}'
            + (' (INTERRUPTED)' if self.interrupted else ''),
            f'  ok {self.ok}, failed {sum(self.failed.values())}'
            + (f' ({failed})' if failed else ''),
            f'  skipped: {self.skipped_ok} already ok, '
            f'{self.skipped_failed} failed before (use --retry-failed)',
            f'  calls {self.calls}, tokens in {self.input_tokens} / out '
            f'{self.output_tokens}, estimated cost ${self.cost:.4f}',
            f'  {self.done} clips in {self.elapsed:.1f} s '
            f'({self.clips_per_second:.2f} clips/s)',
        ]
        return '\n'.join(lines)


def plan_clips(clips: Sequence[Clip], store_path: str, teacher: str,
               prompt_version: str, resume: bool = False,
               retry_failed: bool = False, limit: Optional[int] = None
               ) -> Tuple[List[Clip], int, int]:
    """Clips that still need a call, and how many were skipped.

    Returns:
        ``(todo, skipped_ok, skipped_failed)``; ``todo`` keeps list order and
        holds at most ``limit`` clips.

    Raises:
        RuntimeError: the store has records for this teacher and prompt and
            ``resume`` is False (continuing must be a choice).
    """
    names = [c.name for c in clips]
    if len(set(names)) != len(names):
        dup = sorted(n for n, k in Counter(names).items() if k > 1)[:5]
        raise ValueError(f'duplicate clip names in the clip list: {dup}')
    records = {name: r for (name, t, v), r in latest_records(store_path).items()
               if t == teacher and v == prompt_version}
    if records and not resume:
        raise RuntimeError(
            f'{store_path} already holds {len(records)} records for teacher '
            f'{teacher!r} / prompt {prompt_version!r}: pass --resume to '
            'continue it (clips with an ok record are never sent again)')
    todo, skipped_ok, skipped_failed = [], 0, 0
    for clip in clips:
        record = records.get(clip.name)
        if record is not None and record.ok:
            skipped_ok += 1
        elif record is not None and not retry_failed:
            skipped_failed += 1
        else:
            todo.append(clip)
    if limit is not None:
        todo = todo[:max(0, limit)]
    return todo, skipped_ok, skipped_failed


class _Interrupt:
    """First signal: stop handing out clips. Second: cancel in-flight calls."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.tasks: List[asyncio.Task] = []
        self.count = 0

    def __call__(self) -> None:
        self.count += 1
        if self.count == 1:
            logger.warning('interrupted: finishing the calls in flight and '
                           'recording them (signal again to abort now)')
            self.stop.set()
        else:
            logger.warning('aborting: calls in flight are lost')
            for task in self.tasks:
                task.cancel()


async def _run(generator: BasePriorGenerator, todo: Sequence[Clip],
               writer: PriorStoreWriter, summary: RunSummary,
               progress: bool, handle_signals: bool) -> None:
    from tqdm import tqdm
    stop = asyncio.Event()
    interrupt = _Interrupt(stop)
    loop = asyncio.get_running_loop()
    signals = ((signal.SIGINT, signal.SIGTERM) if handle_signals
               and threading.current_thread() is threading.main_thread()
               else ())
    for sig in signals:
        loop.add_signal_handler(sig, interrupt)
    clips = iter(todo)
    errors: List[BaseException] = []
    bar = tqdm(total=len(todo), disable=not progress, unit='clip',
               dynamic_ncols=True, desc=generator.teacher)

    async def worker() -> None:
        for clip in clips:  # one shared iterator: each clip goes to one worker
            if stop.is_set():
                return
            try:
                record = await generator.agenerate(clip)
                if record.key != (clip.name, generator.teacher,
                                  generator.prompt_version):
                    raise ValueError(f'{type(generator).__name__} returned '
                                     f'a record keyed {record.key} for clip '
                                     f'{clip.name!r}')
                writer.append(record)
            except Exception as err:  # stop the run, keep what is written
                errors.append(err)
                stop.set()
                return
            summary.add(record, generator.cost(record.usage))
            bar.update()
            bar.set_postfix(ok=summary.ok, failed=sum(summary.failed.values()),
                            refresh=False)

    interrupt.tasks = [asyncio.ensure_future(worker())
                       for _ in range(min(generator.max_concurrency,
                                          max(1, len(todo))))]
    try:
        await asyncio.gather(*interrupt.tasks)
    except asyncio.CancelledError:
        summary.interrupted = True
    finally:
        bar.close()
        for sig in signals:
            loop.remove_signal_handler(sig)
        await generator.aclose()
    summary.interrupted = summary.interrupted or interrupt.count > 0
    if errors:
        raise errors[0]


def run_generation(generator: BasePriorGenerator, clips: Sequence[Clip],
                   store_path: str, resume: bool = False,
                   retry_failed: bool = False, limit: Optional[int] = None,
                   progress: bool = True, fsync: bool = True,
                   handle_signals: bool = True) -> RunSummary:
    """Generate priors for ``clips`` into the store at ``store_path``.

    Args:
        generator: a built prior generator.
        clips: the clips to cover (the store decides which still need work).
        store_path: the JSONL store.
        resume: continue a store that already has records for this teacher.
        retry_failed: send clips whose last record failed again.
        limit: process at most this many clips this run.
        progress: show a progress bar.
        fsync: fsync after each record (see :class:`.store.PriorStoreWriter`).
        handle_signals: install the SIGINT / SIGTERM drain (main thread).

    Returns:
        The run's :class:`RunSummary` (``interrupted`` after a signal).
    """
    todo, skipped_ok, skipped_failed = plan_clips(
        clips, store_path, generator.teacher, generator.prompt_version,
        resume, retry_failed, limit)
    summary = RunSummary(generator.teacher, generator.prompt_version,
                         planned=len(todo), skipped_ok=skipped_ok,
                         skipped_failed=skipped_failed)
    if not todo:
        return summary
    generator.setup()
    start = time.monotonic()
    with PriorStoreWriter(store_path, fsync=fsync) as writer:
        try:
            asyncio.run(_run(generator, todo, writer, summary, progress,
                             handle_signals))
        finally:
            summary.elapsed = time.monotonic() - start
    return summary

