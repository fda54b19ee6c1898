"""The one CSV reader behind label files, clip lists and subtitle tables.

Every CSV keyed by clip name (MER label files, the clip lists of extraction
and prior generation, MER2024's ``subtitle_chieng.csv``) is read here: UTF-8
with or without a BOM (Excel writes one), a header naming each column once,
clip names checked by :func:`~.clip_name.clip_name` and listed once.
"""
import csv
from typing import Dict, List, NamedTuple, Sequence, Tuple

from .clip_name import clip_name


class ClipRow(NamedTuple):
    """One data row: its line in the file, the checked clip name, the cells."""
    line: int
    name: str
    cells: Dict[str, str]


def read_csv_table(path: str, required: Sequence[str] = ('name',),
                   what: str = 'CSV file'
                   ) -> Tuple[List[str], List[Tuple[int, Dict[str, str]]]]:
    """The header and ``(line, {column: cell})`` rows of a CSV.

    Args:
        path: the file.
        required: columns that must be in the header.
        what: how errors call the file (``'label file'``).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not UTF-8, no header, a repeated or a missing column;
            the message names the file and what was expected.
    """
    try:
        f = open(path, newline='', encoding='utf-8-sig')
    except FileNotFoundError:
        raise FileNotFoundError(f'{what} {path!r} does not exist') from None
    try:
        with f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None:
                wanted = ', '.join(repr(c) for c in required)
                raise ValueError(f'{path}: empty file, expected a header '
                                 f'with a {wanted} column')
            columns = [c.strip() for c in reader.fieldnames]
            reader.fieldnames = columns
            repeated = sorted({c for c in columns if columns.count(c) > 1})
            if repeated:  # csv.DictReader would keep the last one silently
                raise ValueError(f'{path}: duplicate column names {repeated} '
                                 f'(columns: {columns}); expected each '
                                 'column once')
            for column in required:
                if column not in columns:
                    raise ValueError(f'{path}: no {column!r} column '
                                     f'(columns: {columns})')
            rows = [(line, row) for line, row in enumerate(reader, start=2)]
    except UnicodeDecodeError as err:
        raise ValueError(
            f'{path}: not UTF-8 text (byte {err.object[err.start]:#04x} at '
            f'offset {err.start}); expected a UTF-8 CSV (re-save it as '
            'UTF-8)') from None
    return columns, rows


def read_clip_rows(path: str, name_column: str = 'name',
                   required: Sequence[str] = (),
                   what: str = 'CSV file'
                   ) -> Tuple[List[str], List[ClipRow]]:
    """The header and rows of a CSV keyed by clip name, in file order
    (maybe no rows).

    Args:
        path: the file.
        name_column: the column holding the clip name.
        required: other columns that must be present.
        what: how errors call the file.

    Raises:
        FileNotFoundError, ValueError: see :func:`read_csv_table`; also a
            name breaking the clip-name rule or listed twice (with both
            lines).
    """
    columns, rows = read_csv_table(path, (name_column, *required), what)
    out: List[ClipRow] = []
    first_line: Dict[str, int] = {}
    for line, cells in rows:
        name = clip_name(cells.get(name_column) or '', f'{path}:{line}')
        if name in first_line:
            raise ValueError(f'{path}:{line}: duplicate clip name {name!r} '
                             f'(first on line {first_line[name]})')
        first_line[name] = line
        out.append(ClipRow(line, name, cells))
    return columns, out


def read_subtitles(path: str, column: str = 'english',
                   name_column: str = 'name') -> Dict[str, str]:
    """``{clip name: subtitle}`` from a subtitle CSV (MER2024:
    ``name,chinese,english``); cells are stripped, an empty one is ``''``."""
    return {row.name: (row.cells[column] or '').strip()
            for row in read_clip_rows(path, name_column, (column,),
                                      'subtitle file')[1]}
