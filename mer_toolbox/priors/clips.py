"""What a prior generator is asked about: clips, read from a clip list.

A clip list is a CSV with a ``name`` column and optionally a subtitle column;
subtitles may instead come from a second CSV keyed by ``name`` (MER2024 ships
``subtitle_chieng.csv`` with ``chinese`` / ``english`` columns). Videos are
``<video_dir>/<name><video_ext>``; a missing video is not an error here: the
generator records that clip as failed (``missing_input``) and moves on.
"""
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional

from ..fileio.clip_table import read_clip_rows, read_subtitles


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
    _, rows = read_clip_rows(list_file, name_column, what='clip list')
    subtitles: Dict[str, str] = {}
    if subtitle_file is not None:
        subtitles = read_subtitles(subtitle_file, subtitle_column,
                                   name_column)
    clips = []
    for row in rows:
        subtitle = row.cells.get(subtitle_column)
        if subtitle is None:
            subtitle = subtitles.get(row.name)
        video = (osp.join(video_dir, row.name + video_ext)
                 if video_dir is not None else None)
        clips.append(Clip(name=row.name, video=video, subtitle=subtitle))
    if not clips:
        raise ValueError(f'{list_file}: the clip list is empty')
    return clips
