"""Which clips to extract: a clip-list CSV or a folder of videos, plus subtitles.

* ``list_file``: CSV with a ``name`` column and optionally ``path`` (relative
  paths resolve against ``video_root``, else the CSV's folder),
  ``subtitle`` and ``duration`` (seconds; only used to balance the shares of
  a sharded run, an empty cell means unknown). Other columns (labels, ...) are ignored, so a MER2024 label
  CSV works as a clip list.
* ``video_root`` alone: every file with a video extension in the folder (not
  recursive); the clip name is the file name without extension.
* ``subtitle_file``: MER2024-style CSV (``name,chinese,english``);
  ``subtitle_column`` picks the language. A clip without a row, or with an
  empty cell, has no subtitle (``None`` / ``''``), which the pipeline treats
  per its ``subtitle.empty`` policy.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence

from ..fileio.clip_name import clip_name
from ..fileio.clip_table import read_clip_rows, read_subtitles

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.mov', '.webm', '.flv', '.mpg',
                    '.mpeg', '.m4v')


@dataclass
class ClipItem:
    """One clip to extract: its name, video path, subtitle (``None`` = no
    row) and duration in seconds (``None`` = unknown)."""
    name: str
    path: str
    subtitle: Optional[str] = None
    duration: Optional[float] = None


def _duration(raw: Optional[str], where: str) -> Optional[float]:
    """A positive number of seconds, or ``None`` for an empty cell."""
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float('nan')
    if not value > 0 or value == float('inf'):
        raise ValueError(f'{where}: duration must be a positive number of '
                         f'seconds, got {raw!r}')
    return value


def _find_video(folder: str, name: str, extensions: Sequence[str]) -> str:
    for ext in extensions:
        candidate = osp.join(folder, name + ext)
        if osp.exists(candidate):
            return candidate
    # missing: keep the first candidate so the failure names a real path
    return osp.join(folder, name + extensions[0])


def read_clip_list(list_file: Optional[str] = None,
                   video_root: Optional[str] = None,
                   subtitle_file: Optional[str] = None,
                   subtitle_column: str = 'english',
                   extensions: Sequence[str] = VIDEO_EXTENSIONS
                   ) -> List[ClipItem]:
    """Build the clip list (see module doc).

    Raises:
        ValueError: neither source given, a CSV without ``name``, duplicate or
            empty names, or an empty list.
    """
    if list_file is None and video_root is None:
        raise ValueError('clips: give list_file (CSV) and/or video_root')
    items: List[ClipItem] = []
    if list_file is not None:
        _, rows = read_clip_rows(list_file, what='clip list')
        base = video_root or osp.dirname(osp.abspath(list_file))
        for row in rows:
            path = (row.cells.get('path') or '').strip()
            path = (osp.join(base, path) if path and not osp.isabs(path)
                    else path or _find_video(base, row.name, extensions))
            items.append(ClipItem(row.name, path, row.cells.get('subtitle'),
                                  _duration(row.cells.get('duration'),
                                            f'{list_file}:{row.line}')))
    else:
        if not osp.isdir(video_root):
            raise FileNotFoundError(f'video_root {video_root!r} is not a folder')
        for entry in sorted(os.scandir(video_root), key=lambda e: e.name):
            stem, ext = osp.splitext(entry.name)
            if ext.lower() in extensions and not entry.name.startswith('.'):
                items.append(ClipItem(clip_name(stem, video_root),
                                      entry.path))
    seen = set()
    for item in items:  # a CSV list is checked by its reader; a folder too:
        if item.name in seen:  # a.mp4 and a.avi are both clip 'a'
            raise ValueError(f'duplicate clip name {item.name!r} in the clip '
                             'list')
        seen.add(item.name)
    if not items:
        raise ValueError(f'no clips found (list_file={list_file!r}, '
                         f'video_root={video_root!r})')
    if subtitle_file is not None:
        table = read_subtitles(subtitle_file, subtitle_column)
        for item in items:
            if item.subtitle is None:
                item.subtitle = table.get(item.name)
    return items
