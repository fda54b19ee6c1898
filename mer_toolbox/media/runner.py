"""Extract a clip list into a feature store: resume, failure log, summary.

Output under ``root``: one folder per feature set and level
(``<root>/<name>-UTT/<clip>.npy``, the MERTools layout, each file written
atomically), ``failures.jsonl`` (one line per failed clip and feature set:
clip, path, feature_set, reason, detail), ``warnings.jsonl`` (face fallbacks)
and ``summary.json``. ``pack_root`` adds the packed layout of every folder.

With ``resume=True`` a clip's feature set is skipped when all its files exist
and their ``.npy`` header matches their size (a file cut short by a kill is
redone); a clip with every set complete is not even decoded.
"""
import json
import logging
import os
import os.path as osp
import time
from collections import Counter, defaultdict
from typing import Dict, List, Optional

import numpy as np

from mer_toolbox.fileio.clip_name import path_inside
from mer_toolbox.fileio.feature_store import pack_npy_store, save_npy_atomic

from .clips import ClipItem, read_clip_list
from .pipeline import FeatureExtractor

FAILURES_FILE = 'failures.jsonl'
WARNINGS_FILE = 'warnings.jsonl'
SUMMARY_FILE = 'summary.json'
CONFIG_KEYS = ('clips', 'video', 'audio', 'subtitle', 'feature_sets',
               'output')

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
    clips = read_clip_list(**dict(cfg['clips']))
    extractor = FeatureExtractor(cfg['feature_sets'], cfg.get('video'),
                                 cfg.get('audio'), cfg.get('subtitle'),
                                 device=device, dtype=dtype)
    return extractor, clips, output


def _todo(extractor: FeatureExtractor, root: str, name: str) -> List[str]:
    """Feature sets of clip ``name`` with a missing or truncated file."""
    return [s.name for s in extractor.sets
            if not all(npy_complete(osp.join(root, folder, f'{name}.npy'))
                       for folder in s.folders())]


def run_extraction(extractor: FeatureExtractor, clips: List[ClipItem],
                   root: str, resume: bool = False,
                   pack_root: Optional[str] = None,
                   progress: bool = True) -> dict:
    """Extract every clip; never stop on a bad one.

    Args:
        extractor: built pipeline.
        clips: what to extract.
        root: feature-store root (npy layout).
        resume: skip feature sets already complete on disk.
        pack_root: if given, also write the packed layout there afterwards.
        progress: show a tqdm bar.

    Returns:
        The summary dict (also written to ``<root>/summary.json``); its
        ``exit_code`` is 0 when no clip failed, else 1.
    """
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm
    os.makedirs(root, exist_ok=True)
    counts = Counter()
    fail_reasons: Dict[str, set] = defaultdict(set)
    warn_reasons: Dict[str, set] = defaultdict(set)
    per_set = {s.name: Counter() for s in extractor.sets}
    coverage: Dict[str, float] = {}
    write_seconds = 0.0
    start = time.perf_counter()
    with open(osp.join(root, FAILURES_FILE), 'w', encoding='utf-8') as fails, \
            open(osp.join(root, WARNINGS_FILE), 'w', encoding='utf-8') as warns, \
            logging_redirect_tqdm():
        for item in tqdm(clips, desc='extract', unit='clip', disable=not progress):
            todo = _todo(extractor, root, item.name) if resume else None
            if todo == []:
                counts['skipped'] += 1
                continue
            result = extractor.extract(item.path, item.subtitle, only=todo)
            t0 = time.perf_counter()
            for folder, array in result.features.items():
                # the clip name rule already holds; this guards the writer
                save_npy_atomic(path_inside(root, folder, f'{item.name}.npy'),
                                array)
            write_seconds += time.perf_counter() - t0
            for set_name in (todo or per_set):
                per_set[set_name]['failed' if set_name in result.failures
                                  else 'ok'] += 1
            for set_name, err in result.failures.items():
                fail_reasons[err.reason].add(item.name)
                fails.write(json.dumps(dict(
                    clip=item.name, path=item.path, feature_set=set_name,
                    reason=err.reason, detail=err.detail),
                    ensure_ascii=False) + '\n')
                fails.flush()
                logger.warning('%s [%s]: %s (%s)', item.name, set_name,
                               err.reason, err.detail)
            for reason, detail in result.warnings:
                warn_reasons[reason].add(item.name)
                warns.write(json.dumps(dict(clip=item.name, reason=reason,
                                            detail=detail),
                                       ensure_ascii=False) + '\n')
            if result.face_coverage is not None:
                coverage[item.name] = round(result.face_coverage, 4)
            counts['failed' if result.failures else 'ok'] += 1
    seconds = time.perf_counter() - start
    processed = counts['ok'] + counts['failed']
    timings = dict(extractor.timings, write=write_seconds)
    summary = dict(
        clips=len(clips), ok=counts['ok'], failed=counts['failed'],
        skipped_done=counts['skipped'],
        failures_by_reason={k: len(v) for k, v in sorted(fail_reasons.items())},
        warnings_by_reason={k: len(v) for k, v in sorted(warn_reasons.items())},
        feature_sets={k: dict(v) for k, v in per_set.items()},
        seconds=round(seconds, 3),
        clips_per_second=round(processed / seconds, 3) if seconds else None,
        timings={k: round(v, 3) for k, v in timings.items()},
        exit_code=1 if counts['failed'] else 0)
    if extractor.cropper is not None:
        detector = extractor.cropper.detector
        summary['face_detector'] = getattr(detector, 'name',
                                           type(detector).__name__)
        summary['face_coverage'] = coverage_summary(coverage)
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


def pack_features(folders: List[str], clips: List[ClipItem], root: str,
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
