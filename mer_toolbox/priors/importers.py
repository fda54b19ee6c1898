"""Importers: priors that already exist in files, as prior generators.

An importer answers each clip from a file instead of a teacher, so
``tools/generate_priors.py`` imports into a store exactly as it generates
(resume, summary, embeddings). Without a clip list, the file's own clips are
used (:meth:`default_clips`). Entries that break the schema become failed
records (``schema_violation``), never guesses.

* :class:`PaperJsonPriorImporter` - the JSON the paper's authors published
  with their follow-up work (MER2025 MRAC): per clip ``推理过程`` (reasoning
  text), ``情绪`` (class -> score), ``label`` and ``贡献度`` with
  ``视频`` / ``音频`` / ``字幕`` (video / audio / subtitle) percentages such as
  ``"40%"``. It has no per-dimension texts and no AU list: the reasoning
  paragraph goes to ``reasoning``, the three dimension texts stay empty and
  ``action_units`` is ``[]``.
* :class:`RecordFilePriorImporter` - records in this toolbox's own format
  (another store, or a JSON list of records), e.g. to merge stores.
"""
import json
from typing import Any, Dict, List, Optional, Sequence

from ..constants import MER2024_CLASSES
from ..registry import PRIOR_GENERATORS
from ..fileio.clip_name import clip_name
from .api_teacher import parse_json_reply
from .base import BasePriorGenerator
from ..fileio.clip_list import Clip
from ..fileio.prior_record import (CONTRIBUTION_KEYS, PriorRecord, PriorValidationError,
                     normalise_percentages)
from ..fileio.prior_store import latest_records

#: The follow-up's contribution keys -> ours.
PAPER_CONTRIBUTION_KEYS = {'视频': 'video', '音频': 'audio', '字幕': 'text'}
NAME_KEYS = ('name', 'video', 'video_name', 'clip', 'id')


def _load_entries(path: str) -> Dict[str, Any]:
    """name -> entry from a JSON object, a JSON list, or JSON lines."""
    with open(path, encoding='utf-8-sig') as f:
        text = f.read()
    if path.endswith('.jsonl'):
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        data = json.loads(text)
    if isinstance(data, dict):
        return {clip_name(str(name), path): entry
                for name, entry in data.items()}
    entries = {}
    for i, entry in enumerate(data):
        name = next((entry[k] for k in NAME_KEYS
                     if isinstance(entry, dict) and k in entry), None)
        if name is None:
            raise ValueError(f'{path}: entry {i} has none of the name keys '
                             f'{NAME_KEYS}')
        name = clip_name(str(name), f'{path}: entry {i}')
        if name in entries:
            raise ValueError(f'{path}: duplicate clip {name!r}')
        entries[name] = entry
    return entries


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise PriorValidationError(f'{what}: {value!r} is not a number')
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        raise PriorValidationError(f'{what}: {value!r} is not a number'
                                   ) from None


def parse_paper_contributions(raw: Any, tolerance: float = 2.0
                              ) -> Dict[str, float]:
    """``{'视频': '40%', '音频': '30%', '字幕': '30%'}`` -> weights summing to 1.

    Values may be ``"40%"`` or ``40`` (percent) or fractions summing to 1.

    Raises:
        PriorValidationError: keys other than the three, or a bad sum.
    """
    if not isinstance(raw, dict) or set(raw) != set(PAPER_CONTRIBUTION_KEYS):
        raise PriorValidationError(f'贡献度 must have exactly the keys '
                                   f'{list(PAPER_CONTRIBUTION_KEYS)}, got '
                                   f'{raw!r}')
    values = {}
    for key, ours in PAPER_CONTRIBUTION_KEYS.items():
        text = str(raw[key]).strip()
        values[ours] = _number(text[:-1] if text.endswith('%') else raw[key],
                               f'贡献度.{key}')
    if abs(sum(values.values()) - 1.0) <= 0.02:  # already fractions
        values = {k: v * 100 for k, v in values.items()}
    return normalise_percentages(values, tolerance)


def _decode_entry(entry: Any) -> Any:
    """An entry may be the raw reply text (maybe fenced in ```json)."""
    if not isinstance(entry, str):
        return entry
    return parse_json_reply(entry)


class _FileImporter(BasePriorGenerator):
    """Shared plumbing: entries by name, clips from the file."""

    entries: Dict[str, Any]

    def default_clips(self) -> Optional[List[Clip]]:
        return [Clip(name) for name in self.entries]

    def generate(self, clip: Clip) -> PriorRecord:
        if clip.name not in self.entries:
            return self.failure(clip, 'missing_input',
                                f'{clip.name!r} is not in {self.path}',
                                attempts=0)
        try:
            return self.convert(clip, self.entries[clip.name])
        except (PriorValidationError, json.JSONDecodeError) as err:
            reason = ('non_json' if isinstance(err, json.JSONDecodeError)
                      else 'schema_violation')
            return self.failure(clip, reason, str(err), attempts=0)

    def convert(self, clip: Clip, entry: Any) -> PriorRecord:
        raise NotImplementedError


@PRIOR_GENERATORS.register_module()
class PaperJsonPriorImporter(_FileImporter):
    """Import the follow-up work's JSON priors (see module doc).

    Args:
        path: a ``.json`` object ``{clip: entry}``, a ``.json`` list of
            entries with a name key (:data:`NAME_KEYS`), or ``.jsonl``.
            An entry may also be the raw reply string (optionally fenced).
        classes: the dataset's classes; ``情绪`` must score exactly these.
        teacher, prompt_version: the key the imported records get.
        percent_tolerance: allowed distance of the 贡献度 sum from 100.
    """

    def __init__(self, path: str, classes: Sequence[str] = MER2024_CLASSES,
                 teacher: str = 'paper-gemini',
                 prompt_version: str = 'paper-json',
                 percent_tolerance: float = 2.0) -> None:
        super().__init__(teacher, prompt_version, classes)
        self.path = path
        self.percent_tolerance = percent_tolerance
        self.entries = _load_entries(path)

    def convert(self, clip: Clip, entry: Any) -> PriorRecord:
        entry = _decode_entry(entry)
        if not isinstance(entry, dict):
            raise PriorValidationError(f'entry is a {type(entry).__name__}')
        missing = [k for k in ('推理过程', '情绪', 'label', '贡献度')
                   if k not in entry]
        if missing:
            raise PriorValidationError(f'missing keys {missing}')
        scores = entry['情绪']
        if not isinstance(scores, dict):
            raise PriorValidationError(f'情绪 must be an object: {scores!r}')
        if not isinstance(entry['推理过程'], str):
            raise PriorValidationError('推理过程 must be a string')
        return self.record(
            clip, label=entry['label'],
            scores={k: _number(v, f'情绪.{k}') for k, v in scores.items()},
            reasoning=entry['推理过程'],
            contributions=parse_paper_contributions(entry['贡献度'],
                                                    self.percent_tolerance),
            attempts=0)


@PRIOR_GENERATORS.register_module()
class RecordFilePriorImporter(_FileImporter):
    """Import records in this toolbox's format (a store or a JSON list).

    Args:
        path: a ``.jsonl`` store or a ``.json`` list of record dicts.
        classes: the dataset's classes.
        teacher, prompt_version: which source records to take; may be left
            out when the file holds a single pair. Imported records keep it.
    """

    def __init__(self, path: str, classes: Sequence[str] = MER2024_CLASSES,
                 teacher: Optional[str] = None,
                 prompt_version: Optional[str] = None) -> None:
        records = self._read(path)
        pairs = sorted({(r.teacher, r.prompt_version) for r in records
                        if teacher in (None, r.teacher)
                        and prompt_version in (None, r.prompt_version)})
        if len(pairs) != 1:
            raise ValueError(f'{path}: expected one teacher / prompt version '
                             f'to import, found {pairs}; pass teacher= and '
                             'prompt_version=')
        super().__init__(pairs[0][0], pairs[0][1], classes)
        self.path = path
        self.entries = {r.name: r for r in records
                        if (r.teacher, r.prompt_version) == pairs[0]}

    @staticmethod
    def _read(path: str) -> List[PriorRecord]:
        if path.endswith('.jsonl'):
            return list(latest_records(path).values())
        with open(path, encoding='utf-8') as f:
            return [PriorRecord.from_dict(d) for d in json.load(f)]

    def convert(self, clip: Clip, entry: PriorRecord) -> PriorRecord:
        record = PriorRecord.from_dict(entry.to_dict())
        return record.validate(self.classes)


__all__ = ['PaperJsonPriorImporter', 'RecordFilePriorImporter',
           'parse_paper_contributions', 'CONTRIBUTION_KEYS']
