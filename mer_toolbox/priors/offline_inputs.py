"""Readers for the offline teacher's inputs: AU detections and prosody stats.

**AU detections** (``au_file``), OpenFace 2 naming, one of:

* a CSV with one row per clip: ``name`` plus any of ``AU01_r`` ... (intensity,
  0-5) and ``AU01_c`` ... (presence, 0/1 or the fraction of frames present);
* a JSON object ``{clip: {"AU06_r": 2.1, "AU12_c": 1, ...}}``;
* a folder of OpenFace per-frame CSVs, ``<folder>/<clip>.csv`` or
  ``<folder>/<clip>/<clip>.csv``: ``_r`` columns are averaged and ``_c``
  columns become the fraction of frames present, over frames with
  ``success == 1`` when that column exists.

An AU's activation in ``[0, 1]`` is ``max(r / 5, c)``: intensity where there
is one, presence rate where OpenFace only detects presence (AU28).

**Prosody statistics** (``prosody_file``): a CSV with one row per clip, or a
JSON object ``{clip: {...}}``, with any of ``pitch_mean_hz``,
``pitch_std_hz`` (F0 over voiced frames), ``energy_db`` (mean RMS level in
dBFS, e.g. -25) and ``speech_rate`` (syllables per second). Compute them
with any tool (openSMILE, Praat / parselmouth, librosa); empty cells are
missing values.
"""
import csv
import json
import os
import os.path as osp
import re
from typing import Dict, Iterable, List, Optional

from ..fileio.facs import VALID_AUS

PROSODY_KEYS = ('pitch_mean_hz', 'pitch_std_hz', 'energy_db', 'speech_rate')
_AU_COLUMN = re.compile(r'^AU(\d+)_([rc])$')


def _float(value: object) -> Optional[float]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return float(value)


def au_activations(columns: Dict[str, object]) -> Dict[int, float]:
    """``{'AU06_r': 2.5, 'AU06_c': 1}`` -> ``{6: 1.0}`` (see module doc)."""
    intensity: Dict[int, float] = {}
    presence: Dict[int, float] = {}
    for key, value in columns.items():
        match = _AU_COLUMN.match(key.strip())
        number = _float(value)
        if match is None or number is None:
            continue
        au, kind = int(match.group(1)), match.group(2)
        if au not in VALID_AUS:
            raise ValueError(f'column {key!r}: AU{au} is not a FACS action '
                             'unit')
        if kind == 'r':
            intensity[au] = min(max(number / 5.0, 0.0), 1.0)
        else:
            presence[au] = min(max(number, 0.0), 1.0)
    return {au: max(intensity.get(au, 0.0), presence.get(au, 0.0))
            for au in sorted(set(intensity) | set(presence))}


def _read_rows(path: str) -> Dict[str, Dict[str, object]]:
    """name -> columns from a per-clip CSV or a JSON object."""
    if path.endswith('.json'):
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError(f'{path}: expected a JSON object clip -> values')
        return data
    with open(path, newline='', encoding='utf-8-sig') as f:
        reader = csv.DictReader(f)
        if 'name' not in (reader.fieldnames or []):
            raise ValueError(f'{path}: expected a "name" column, found '
                             f'{reader.fieldnames}')
        rows = {}
        for lineno, row in enumerate(reader, 2):
            name = row.pop('name').strip()
            if name in rows:
                raise ValueError(f'{path}:{lineno}: duplicate clip {name!r}')
            rows[name] = row
        return rows


def _openface_clip(path: str) -> Dict[str, float]:
    """Aggregate one OpenFace per-frame CSV into clip-level AU columns."""
    with open(path, newline='', encoding='utf-8') as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        frames = [dict(zip(header, row)) for row in reader]
    if 'success' in header:
        frames = [r for r in frames if _float(r['success']) == 1]
    columns = [h for h in header if _AU_COLUMN.match(h)]
    if not frames:
        return {}
    return {c: sum(float(r[c]) for r in frames) / len(frames)
            for c in columns}


def read_au_detections(path: str) -> Dict[str, Dict[int, float]]:
    """clip -> AU id -> activation, from any format in the module doc."""
    if osp.isdir(path):
        out = {}
        for entry in sorted(os.listdir(path)):
            stem = osp.splitext(entry)[0]
            nested = osp.join(path, entry, entry + '.csv')
            if entry.endswith('.csv'):
                out[stem] = au_activations(_openface_clip(osp.join(path,
                                                                   entry)))
            elif osp.isfile(nested):
                out[entry] = au_activations(_openface_clip(nested))
        return out
    return {name: au_activations(cols)
            for name, cols in _read_rows(path).items()}


def read_prosody(path: str) -> Dict[str, Dict[str, float]]:
    """clip -> prosody key -> value (missing values left out)."""
    out = {}
    for name, cols in _read_rows(path).items():
        unknown = sorted(set(cols) - set(PROSODY_KEYS))
        if unknown:
            raise ValueError(f'{path}: clip {name!r} has unknown prosody '
                             f'fields {unknown}; expected {PROSODY_KEYS}')
        values = {k: _float(cols.get(k)) for k in PROSODY_KEYS}
        out[name] = {k: v for k, v in values.items() if v is not None}
    return out


def feature_stats(rows: Iterable[Dict[str, float]]
                  ) -> Dict[str, List[float]]:
    """key -> [mean, std] over clips (std 1 when undefined)."""
    values: Dict[str, List[float]] = {}
    for row in rows:
        for key, value in row.items():
            values.setdefault(key, []).append(value)
    stats = {}
    for key, vals in values.items():
        mean = sum(vals) / len(vals)
        var = sum((v - mean) ** 2 for v in vals) / len(vals)
        stats[key] = [mean, var ** 0.5 if var > 0 else 1.0]
    return stats
