"""Which clips a job works on: the clip list of extraction and prior generation.

* ``list_file``: CSV with a ``name`` column (``name_column``) and optionally
  ``path`` (a video; relative paths resolve against ``video_root``, else the
  CSV's folder), ``subtitle`` and ``duration`` (seconds; only used to balance
  the shares of a sharded extraction, an empty cell means unknown). Other
  columns (labels, ...) are ignored, so a MER2024 label CSV works as a clip
  list. A row without a ``path`` cell has the video
  ``<video_root>/<name><ext>`` (the first of ``extensions`` that exists, else
  the first one, so a missing file still names a real path and fails where it
  is opened); with no ``video_root`` it has none, unless ``need_video``
  places it beside the CSV.
* ``video_root`` alone: every file with a video extension in the folder (not
  recursive); the clip name is the file name without extension.
* ``subtitle_file``: MER2024-style CSV (``name,chinese,english``);
  ``subtitle_column`` (default ``'english'``) picks the language. It fills
  the clips whose list has no ``subtitle`` cell; a clip without a row there
  has no subtitle (``None``), an empty cell is ``''``.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence

from .clip_name import clip_name
from .clip_table import read_clip_rows, read_subtitles

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.mov', '.webm', '.flv', '.mpg',
                    '.mpeg', '.m4v')


@dataclass
class Clip:
    """One clip of a clip list.

    Args:
        name: clip id (the key of feature and prior stores).
        video: path of its video file; ``None`` when the job needs none.
        subtitle: the transcript; ``None`` = no row anywhere, ``''`` = empty.
        duration: length in seconds; ``None`` = unknown.
    """
    name: str
    video: Optional[str] = None
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


def _listed_clips(list_file: str, video_root: Optional[str],
                  name_column: str, extensions: Sequence[str],
                  need_video: bool) -> List[Clip]:
    _, rows = read_clip_rows(list_file, name_column, what='clip list')
    beside = osp.dirname(osp.abspath(list_file))
    folder = video_root or (beside if need_video else None)
    clips = []
    for row in rows:
        path = (row.cells.get('path') or '').strip()
        if path:
            video = path if osp.isabs(path) else osp.join(
                video_root or beside, path)
        else:
            video = (_find_video(folder, row.name, extensions)
                     if folder is not None else None)
        clips.append(Clip(row.name, video, row.cells.get('subtitle'),
                          _duration(row.cells.get('duration'),
                                    f'{list_file}:{row.line}')))
    return clips


def _folder_clips(video_root: str, extensions: Sequence[str]) -> List[Clip]:
    if not osp.isdir(video_root):
        raise FileNotFoundError(f'video_root {video_root!r} is not a folder')
    clips = []
    for entry in sorted(os.scandir(video_root), key=lambda e: e.name):
        stem, ext = osp.splitext(entry.name)
        if ext.lower() in extensions and not entry.name.startswith('.'):
            clips.append(Clip(clip_name(stem, video_root), entry.path))
    seen = set()
    for clip in clips:  # a.mp4 and a.avi are both clip 'a'
        if clip.name in seen:
            raise ValueError(f'{video_root}: duplicate clip name '
                             f'{clip.name!r} (two videos with that stem)')
        seen.add(clip.name)
    return clips


def read_clip_list(list_file: Optional[str] = None,
                   video_root: Optional[str] = None,
                   subtitle_file: Optional[str] = None,
                   subtitle_column: str = 'english',
                   name_column: str = 'name',
                   extensions: Sequence[str] = VIDEO_EXTENSIONS,
                   need_video: bool = False) -> List[Clip]:
    """The clips of a clip-list CSV or a video folder, in order (see the
    module doc).

    Args:
        list_file: the clip-list CSV; ``None`` lists ``video_root``.
        video_root: folder of the videos.
        subtitle_file: CSV keyed by ``name_column`` with ``subtitle_column``.
        subtitle_column: the subtitle file's column to read.
        name_column: the column holding the clip id, in both CSVs.
        extensions: video file extensions, tried in order.
        need_video: every clip gets a video (extraction): with neither a
            ``path`` cell nor ``video_root`` it is looked up beside the CSV.

    Raises:
        FileNotFoundError: a file or ``video_root`` that does not exist.
        ValueError: neither source given, a missing column, a bad, empty or
            duplicate clip name, a bad duration (file and line named), or no
            clips at all.
    """
    if list_file is None and video_root is None:
        raise ValueError('clips: give list_file (CSV) and/or video_root')
    extensions = tuple(extensions)
    if not extensions or not all(e.startswith('.') for e in extensions):
        raise ValueError(f'clips: extensions must be file extensions like '
                         f"'.mp4', got {extensions!r}")
    clips = (_listed_clips(list_file, video_root, name_column, extensions,
                           need_video)
             if list_file is not None
             else _folder_clips(video_root, extensions))
    if not clips:
        raise ValueError(f'no clips found (list_file={list_file!r}, '
                         f'video_root={video_root!r})')
    if subtitle_file is not None:
        table = read_subtitles(subtitle_file, subtitle_column, name_column)
        for clip in clips:
            if clip.subtitle is None:
                clip.subtitle = table.get(clip.name)
    return clips
