"""What a prior generator is asked about: clips, read from a clip list.

A clip list is a CSV with a ``name`` column and optionally a subtitle column;
subtitles may instead come from a second CSV keyed by ``name`` (MER2024 ships
``subtitle_chieng.csv`` with ``chinese`` / ``english`` columns). Videos are
``<video_dir>/<name><video_ext>``; a missing video is not an error here: the
generator records that clip as failed (``missing_input``) and moves on.
"""
import csv
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional

from ..utils.clip_name import clip_name, normalise_clip_name


@dataclass(frozen=True)
class Clip:
    """One clip to generate a prior for.

    Args:
        name: clip id (the store key).
        video: path of the video file, if the teacher needs one.
        subtitle: the transcript, if any.
    """
    name: str
    video: Optional[str] = None
    subtitle: Optional[str] = None


def _read_csv(path: str, name_column: str) -> List[Dict[str, str]]:
    # utf-8-sig: MER's CSVs are often written with a BOM by Excel.
    with open(path, newline='', encoding='utf-8-sig') as f:
        reader = csv.DictReader(f)
        if name_column not in (reader.fieldnames or []):
            raise ValueError(f'{path}: expected a {name_column!r} column, '
                             f'found {reader.fieldnames}')
        return list(reader)


def read_clip_list(list_file: str, video_dir: Optional[str] = None,
                   video_ext: str = '.mp4',
                   subtitle_file: Optional[str] = None,
                   subtitle_column: str = 'subtitle',
                   name_column: str = 'name') -> List[Clip]:
    """Read a clip list CSV into :class:`Clip` objects, in file order.

    Args:
        list_file: CSV with ``name_column`` (and maybe ``subtitle_column``).
        video_dir: folder of videos; None when the teacher needs none.
        video_ext: video file extension.
        subtitle_file: optional CSV (``name_column`` + ``subtitle_column``)
            that supplies subtitles the list does not have.
        subtitle_column: column holding the subtitle text.
        name_column: column holding the clip id.

    Raises:
        ValueError: no clips, a duplicate name, or a missing column.
    """
    rows = _read_csv(list_file, name_column)
    subtitles: Dict[str, str] = {}
    if subtitle_file is not None:
        for row in _read_csv(subtitle_file, name_column):
            if subtitle_column not in row:
                raise ValueError(f'{subtitle_file}: no {subtitle_column!r} '
                                 f'column (have {sorted(row)})')
            subtitles[normalise_clip_name(row[name_column] or '')] = \
                row[subtitle_column]
    clips, seen = [], set()
    for lineno, row in enumerate(rows, 2):
        name = clip_name(row[name_column] or '', f'{list_file}:{lineno}')
        if name in seen:
            raise ValueError(f'{list_file}:{lineno}: duplicate clip {name!r}')
        seen.add(name)
        subtitle = row.get(subtitle_column)
        if subtitle is None:
            subtitle = subtitles.get(name)
        video = (osp.join(video_dir, name + video_ext)
                 if video_dir is not None else None)
        clips.append(Clip(name=name, video=video, subtitle=subtitle))
    if not clips:
        raise ValueError(f'{list_file}: the clip list is empty')
    return clips
