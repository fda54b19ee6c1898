"""Extract a clip list into a feature store: resume, failure log, summary.

Output under ``root``: one folder per feature set and level
(``<root>/<name>-UTT/<clip>.npy``, the MERTools layout, each file written
atomically), ``failures.jsonl`` (one line per failed clip and feature set:
clip, path, feature_set, reason, detail), ``warnings.jsonl`` (face fallbacks)
and ``summary.json``. ``pack_root`` adds the packed layout of every folder.

With ``resume=True`` a clip's feature set is skipped when all its files exist
and their ``.npy`` header matches their size (a file cut short by a kill is
redone); a clip with every set complete is not even decoded. This looks only
at the files, so a run may resume one made with any number of ranks.

``decode=dict(num_workers=N)`` decodes clips in N DataLoader worker processes
ahead of the encoders (:mod:`.decode_workers`). Under ``torchrun`` each rank
extracts a disjoint share of the clips (:mod:`.sharding`); while it runs a
rank logs to ``failures.rank<r>.jsonl`` / ``warnings.rank<r>.jsonl``, and
at the end rank 0 merges them (clip-list order, as one process would write
them), writes the one ``summary.json`` and packs. All ranks must see the
same ``root`` (one machine, or a shared file system).
"""
import glob
import json
import logging
import os
import os.path as osp
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..fileio.clip_list import Clip, read_clip_list
from ..fileio.clip_name import path_inside
from ..fileio.feature_store import pack_npy_store, save_npy_atomic
from .decode_workers import DecodeJob, check_decode_options, iter_decoded
from .pipeline import FeatureExtractor
from .sharding import (all_gather, barrier, from_rank0, rank_and_world,
                       shard_by_cost)

FAILURES_FILE = 'failures.jsonl'
WARNINGS_FILE = 'warnings.jsonl'
SUMMARY_FILE = 'summary.json'
CONFIG_KEYS = ('clips', 'video', 'audio', 'subtitle', 'feature_sets',
               'decode', 'output')
#: ``decode`` section: DataLoader workers that decode ahead of the encoders
DECODE_DEFAULTS = dict(num_workers=0, prefetch_factor=2, start_method=None)

logger = logging.getLogger('mer_toolbox.extraction')


def npy_complete(path: str) -> bool:
    """True if ``path`` is a whole ``.npy`` file (header parses, size matches)."""
    try:
        with open(path, 'rb') as f:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0
                           if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(f)
            header_end = f.tell()
        expected = header_end + int(np.prod(shape)) * np.dtype(dtype).itemsize
        return osp.getsize(path) == expected
    except (OSError, ValueError):
        return False


def build_extraction(cfg: dict, device: Optional[str] = None,
                     dtype: Optional[str] = None):
    """Read a config dict into ``(extractor, clips, output)``.

    Sections: ``clips`` (:func:`read_clip_list` arguments), ``video`` /
    ``audio`` / ``subtitle`` / ``feature_sets`` (:class:`FeatureExtractor`),
    ``decode`` (:data:`DECODE_DEFAULTS`, read by :func:`run_extraction`),
    ``output=dict(root=..., pack_root=None)``. Scalar top-level values are
    helper variables; any other unknown section is an error.

    Raises:
        ValueError / FileNotFoundError: a key nothing reads, a missing section,
            a bad clip list or an unloadable model (a *config* error).
    """
    # plain values (data_root = '...') are helper variables of the config file
    unknown = {k for k, v in cfg.items() if isinstance(v, (dict, list, tuple))
               } - set(CONFIG_KEYS) - {'custom_imports', '_base_'}
    if unknown:
        raise ValueError(f'config keys nothing reads: {sorted(unknown)}; '
                         f'expected {list(CONFIG_KEYS)}')
    for key in ('clips', 'feature_sets', 'output'):
        if key not in cfg:
            raise ValueError(f'config has no `{key}` section')
    output = dict(cfg['output'])
    if 'root' not in output or set(output) - {'root', 'pack_root'}:
        raise ValueError(f'output takes root (required) and pack_root, got '
                         f'{sorted(output)}')
    if 'need_video' in cfg['clips']:  # extraction always decodes video
        raise ValueError('clips.need_video is not a setting of extraction '
                         '(every clip needs its video); remove it')
    clips = read_clip_list(need_video=True, **dict(cfg['clips']))
    extractor = FeatureExtractor(cfg['feature_sets'], cfg.get('video'),
                                 cfg.get('audio'), cfg.get('subtitle'),
                                 device=device, dtype=dtype)
    decode_options(cfg.get('decode'), extractor)  # fail before any clip
    return extractor, clips, output


def decode_options(decode: Optional[dict],
                   extractor: FeatureExtractor) -> dict:
    """The config's ``decode`` section with defaults, checked.

    Raises:
        ValueError: an unknown key or a value the DataLoader cannot use.
    """
    decode = dict(DECODE_DEFAULTS, **(decode or {}))
    unknown = set(decode) - set(DECODE_DEFAULTS)
    if unknown:
        raise ValueError(f'decode: unknown keys {sorted(unknown)}; expected '
                         f'{sorted(DECODE_DEFAULTS)}')
    check_decode_options(extractor.decoder, **decode)
    return decode


def _todo(extractor: FeatureExtractor, root: str, name: str) -> List[str]:
    """Feature sets of clip ``name`` with a missing or truncated file."""
    return [s.name for s in extractor.sets
            if not all(npy_complete(osp.join(root, folder, f'{name}.npy'))
                       for folder in s.folders())]


@dataclass
class ShareResult:
    """What one rank did with its share (picklable: ranks gather it).

    Attributes:
        rank: the rank.
        ok / failed: clips processed without / with a failed set.
        failures / warnings: ``(clip index, record)`` in processing order.
        per_set: ``{set name: {'ok': n, 'failed': n}}``.
        coverage: ``(clip index, clip, face coverage)``.
        timings: seconds per stage (decode stages: summed over workers).
        seconds: the rank's wall time for its share.
    """
    rank: int = 0
    ok: int = 0
    failed: int = 0
    failures: List[Tuple[int, dict]] = field(default_factory=list)
    warnings: List[Tuple[int, dict]] = field(default_factory=list)
    per_set: Dict[str, Counter] = field(default_factory=dict)
    coverage: List[Tuple[int, str, float]] = field(default_factory=list)
    timings: Dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def _log_paths(root: str, rank: int, world: int) -> Tuple[str, str]:
    """Where a rank appends its failures / warnings while it runs."""
    if world == 1:
        return osp.join(root, FAILURES_FILE), osp.join(root, WARNINGS_FILE)
    return (osp.join(root, f'failures.rank{rank}.jsonl'),
            osp.join(root, f'warnings.rank{rank}.jsonl'))


def _pending(extractor: FeatureExtractor, clips: List[Clip], root: str,
             resume: bool) -> Dict[int, Optional[Tuple[str, ...]]]:
    """``{clip index: sets to run}`` (``None`` = all) of clips with work left.

    With ``resume``, each rank checks the files of every ``world``-th clip and
    all ranks see the union, so the shares are dealt over the work left.
    """
    if not resume:
        return {i: None for i in range(len(clips))}
    rank, world = rank_and_world()
    mine = {i: tuple(_todo(extractor, root, clips[i].name))
            for i in range(rank, len(clips), world)}
    todo: Dict[int, Tuple[str, ...]] = {}
    for part in all_gather(mine):
        todo.update(part)
    return {i: todo[i] for i in sorted(todo) if todo[i]}


def _extract_share(extractor: FeatureExtractor, jobs: List[DecodeJob],
                   root: str, progress: bool, decode: dict) -> ShareResult:
    """Decode (maybe in workers), encode and write this rank's clips."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm
    rank, world = rank_and_world()
    out = ShareResult(rank=rank,
                      per_set={s.name: Counter() for s in extractor.sets})
    write_seconds = 0.0
    start = time.perf_counter()
    fail_path, warn_path = _log_paths(root, rank, world)
    decoded_clips = iter_decoded(extractor.decoder, jobs, **decode)
    with open(fail_path, 'w', encoding='utf-8') as fails, \
            open(warn_path, 'w', encoding='utf-8') as warns, \
            logging_redirect_tqdm():
        for job, decoded in tqdm(decoded_clips, total=len(jobs), unit='clip',
                                 desc='extract', disable=not progress):
            item = job.item
            result = extractor.encode(decoded, item.video, only=job.only)
            t0 = time.perf_counter()
            for folder, array in result.features.items():
                # the clip name rule already holds; this guards the writer
                save_npy_atomic(path_inside(root, folder, f'{item.name}.npy'),
                                array)
            write_seconds += time.perf_counter() - t0
            for set_name in (job.only or out.per_set):
                out.per_set[set_name]['failed' if set_name in result.failures
                                      else 'ok'] += 1
            for set_name, err in result.failures.items():
                record = dict(clip=item.name, path=item.video,
                              feature_set=set_name, reason=err.reason,
                              detail=err.detail)
                out.failures.append((job.index, record))
                fails.write(json.dumps(record, ensure_ascii=False) + '\n')
                fails.flush()
                logger.warning('%s [%s]: %s (%s)', item.name, set_name,
                               err.reason, err.detail)
            for reason, detail in result.warnings:
                record = dict(clip=item.name, reason=reason, detail=detail)
                out.warnings.append((job.index, record))
                warns.write(json.dumps(record, ensure_ascii=False) + '\n')
            if result.face_coverage is not None:
                out.coverage.append((job.index, item.name,
                                     round(result.face_coverage, 4)))
            if result.failures:
                out.failed += 1
            else:
                out.ok += 1
    out.seconds = time.perf_counter() - start
    out.timings = dict(extractor.timings, write=write_seconds)
    return out


def run_extraction(extractor: FeatureExtractor, clips: List[Clip],
                   root: str, resume: bool = False,
                   pack_root: Optional[str] = None,
                   progress: bool = True,
                   decode: Optional[dict] = None) -> dict:
    """Extract every clip; never stop on a bad one.

    Under an initialised process group (``torchrun``) each rank extracts its
    share (:func:`~.sharding.shard_by_cost`) and rank 0 merges the failure
    and warning logs (in clip-list order), writes the one summary and packs;
    every rank returns that summary. Without one, one process does it all.

    Args:
        extractor: built pipeline.
        clips: what to extract (the same list on every rank).
        root: feature-store root (npy layout; shared by all ranks).
        resume: skip feature sets already complete on disk.
        pack_root: if given, also write the packed layout there afterwards.
        progress: show a tqdm bar (rank 0's share only).
        decode: ``dict(num_workers=0, prefetch_factor=2, start_method=None)``
            for :func:`~.decode_workers.iter_decoded`.

    Returns:
        The summary dict (also written to ``<root>/summary.json``); its
        ``exit_code`` is 0 when no clip failed, else 1.
    """
    decode = decode_options(decode, extractor)
    rank, world = rank_and_world()
    os.makedirs(root, exist_ok=True)
    barrier()  # ranks load their models at different speeds: start together
    start = time.perf_counter()
    extractor.timings.clear()
    pending = _pending(extractor, clips, root, resume)
    indices = list(pending)
    share = [indices[k] for k in shard_by_cost(
        [clips[i].duration for i in indices], world)[rank]]
    jobs = [DecodeJob(i, clips[i], pending[i], tuple(
        extractor.modalities(pending[i]))) for i in share]
    results = all_gather(_extract_share(extractor, jobs, root,
                                        progress and rank == 0, decode))
    summary = None
    if rank == 0:
        summary = _finish(extractor, clips, root, pack_root, results,
                          skipped=len(clips) - len(pending),
                          seconds=time.perf_counter() - start)
    # also the barrier: no rank leaves before the summary (and pack) exist
    return from_rank0(summary)


def _finish(extractor: FeatureExtractor, clips: List[Clip], root: str,
            pack_root: Optional[str], results: List[ShareResult],
            skipped: int, seconds: float) -> dict:
    """Rank 0: merged logs, the summary, the packed layout."""
    failures = sorted((r for res in results for r in res.failures),
                      key=lambda r: r[0])
    warnings = sorted((r for res in results for r in res.warnings),
                      key=lambda r: r[0])
    if len(results) > 1:
        for name, records in ((FAILURES_FILE, failures),
                              (WARNINGS_FILE, warnings)):
            with open(osp.join(root, name), 'w', encoding='utf-8') as f:
                f.writelines(json.dumps(r, ensure_ascii=False) + '\n'
                             for _, r in records)
    # this run's parts are merged; older ones (a killed sharded run) are stale
    for stem in ('failures', 'warnings'):
        for path in glob.glob(osp.join(root, f'{stem}.rank*.jsonl')):
            os.remove(path)
    fail_reasons: Dict[str, set] = defaultdict(set)
    warn_reasons: Dict[str, set] = defaultdict(set)
    for _, r in failures:
        fail_reasons[r['reason']].add(r['clip'])
    for _, r in warnings:
        warn_reasons[r['reason']].add(r['clip'])
    per_set = {s.name: Counter() for s in extractor.sets}
    timings: Dict[str, float] = defaultdict(float)
    for res in results:
        for name, counts in res.per_set.items():
            per_set[name].update(counts)
        for stage, sec in res.timings.items():
            timings[stage] += sec
    ok = sum(res.ok for res in results)
    failed = sum(res.failed for res in results)
    summary = dict(
        clips=len(clips), ok=ok, failed=failed, skipped_done=skipped,
        failures_by_reason={k: len(v) for k, v in sorted(fail_reasons.items())},
        warnings_by_reason={k: len(v) for k, v in sorted(warn_reasons.items())},
        feature_sets={k: dict(v) for k, v in per_set.items()},
        seconds=round(seconds, 3),
        clips_per_second=round((ok + failed) / seconds, 3) if seconds else None,
        timings={k: round(v, 3) for k, v in timings.items()},
        world_size=len(results),
        ranks=[dict(rank=res.rank, clips=res.ok + res.failed,
                    seconds=round(res.seconds, 3)) for res in results],
        exit_code=1 if failed else 0)
    if extractor.cropper is not None:
        detector = extractor.cropper.detector
        summary['face_detector'] = getattr(detector, 'name',
                                           type(detector).__name__)
        coverage = sorted(c for res in results for c in res.coverage)
        summary['face_coverage'] = coverage_summary(
            {name: value for _, name, value in coverage})
    if pack_root is not None:
        summary['packed'] = pack_features(extractor.folders(), clips, root,
                                          pack_root)
    with open(osp.join(root, SUMMARY_FILE), 'w', encoding='utf-8') as f:
        json.dump(summary, f, indent=2, ensure_ascii=False)
    return summary


def coverage_summary(per_clip: Dict[str, float]) -> dict:
    """Face coverage of a run: mean, min, clips with full / partial / no
    coverage and the per-clip ratios (share of detector-run frames where the
    main face was found)."""
    ratios = list(per_clip.values())
    return dict(
        mean=round(float(np.mean(ratios)), 4) if ratios else None,
        min=min(ratios) if ratios else None,
        clips_full=sum(r >= 1.0 for r in ratios),
        clips_partial=sum(0.0 < r < 1.0 for r in ratios),
        clips_none=sum(r == 0.0 for r in ratios),
        per_clip=per_clip)


def pack_features(folders: List[str], clips: List[Clip], root: str,
                  pack_root: str) -> Dict[str, int]:
    """Pack each ``<root>/<folder>`` (clips of the list whose file is complete).

    Returns:
        ``{folder: clips packed}``; a folder with no complete clip is skipped.
    """
    packed = {}
    for folder in folders:
        names = [c.name for c in clips
                 if npy_complete(osp.join(root, folder, f'{c.name}.npy'))]
        if not names:
            logger.warning('not packing %s: no complete clip', folder)
            continue
        packed[folder] = pack_npy_store(osp.join(root, folder),
                                        osp.join(pack_root, folder), names)
        logger.info('packed %s: %d clips -> %s', folder, len(names),
                    osp.join(pack_root, folder))
    return packed


def format_summary(summary: dict) -> str:
    """Human-readable lines for the end of a run."""
    lines = [f"clips: {summary['clips']}  ok: {summary['ok']}  failed: "
             f"{summary['failed']}  skipped (done): {summary['skipped_done']}"
             f"  time: {summary['seconds']:.1f}s  ({summary['clips_per_second']}"
             ' clips/s)']
    for title, key in (('failed', 'failures_by_reason'),
                       ('warnings', 'warnings_by_reason')):
        for reason, n in summary[key].items():
            lines.append(f'  {title}: {reason}: {n} clip(s)')
    faces = summary.get('face_coverage')
    if faces and faces['mean'] is not None:
        lines.append(f"  faces ({summary['face_detector']}): coverage mean "
                     f"{faces['mean']:.3f}, min {faces['min']:.3f}; clips full "
                     f"{faces['clips_full']}, partial {faces['clips_partial']}"
                     f", none {faces['clips_none']}")
    total = sum(summary['timings'].values()) or 1.0
    for stage, sec in sorted(summary['timings'].items(), key=lambda kv: -kv[1]):
        lines.append(f'  time {stage:<40s} {sec:8.2f}s {100 * sec / total:5.1f}%')
    return '\n'.join(lines)
