"""Reading MER label CSVs (``name,discrete[,...]``) and clip lists (``name``)."""
import csv
from typing import Dict, List, Optional, Sequence, Tuple

from .clip_table import read_clip_rows


def read_label_csv(path: str, classes: Sequence[str],
                   labelled: bool = True,
                   label_column: str = 'discrete') -> List[Tuple[str, int]]:
    """Parse a MER label CSV into ``(name, label)`` pairs.

    Args:
        path: CSV with a ``name`` column and, when ``labelled``, a label
            column holding class names (case-insensitive) of ``classes``.
        classes: the dataset's class names; their order defines label ids.
        labelled: read labels (else every label is ``-1``; extra columns of
            an unlabelled list are ignored).
        label_column: the column with the class names (MER2024: ``discrete``).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: empty file, not UTF-8, missing or repeated column,
            unknown label, a clip name breaking the clip-name rule
            (:mod:`mer_toolbox.fileio.clip_name`) or a duplicate clip name;
            the message names the file, line and clip.
    """
    lookup = {c.lower(): i for i, c in enumerate(classes)}
    columns, rows = read_clip_rows(path, 'name', (), 'label file')
    if labelled and label_column not in columns:
        raise ValueError(f'{path}: no {label_column!r} label column '
                         f'(columns: {columns}); for an unlabelled pool set '
                         'labelled=False')
    out: List[Tuple[str, int]] = []
    for row in rows:
        label = -1
        if labelled:
            text = (row.cells.get(label_column) or '').strip()
            if text.lower() not in lookup:
                raise ValueError(
                    f'{path}:{row.line}: clip {row.name!r} has unknown label '
                    f'{text!r}; expected one of {list(classes)}')
            label = lookup[text.lower()]
        out.append((row.name, label))
    if not out:
        raise ValueError(f'{path}: no clips listed (header only)')
    return out


def read_label_column(path: str, column: str,
                      purpose: str = 'this option') -> Dict[str, str]:
    """``{clip name: cell}`` of one column of a label CSV (e.g. a speaker).

    Args:
        path: the CSV (clip names checked as by :func:`read_label_csv`).
        column: the column to read.
        purpose: what needs the column, for the error messages.

    Raises:
        ValueError: no such column, or an empty cell (file, line, clip).
    """
    columns, rows = read_clip_rows(path, 'name', (), 'label file')
    if column not in columns:
        raise ValueError(f'{path}: no {column!r} column (columns: {columns})'
                         f'; {purpose} needs it for every clip')
    out = {}
    for row in rows:
        cell = (row.cells.get(column) or '').strip()
        if not cell:
            raise ValueError(f'{path}:{row.line}: clip {row.name!r} has an '
                             f'empty {column!r} cell; {purpose} needs it '
                             'for every clip')
        out[row.name] = cell
    return out


def write_label_csv(path: str, rows: Sequence[Tuple[str, Optional[str]]],
                    label_column: str = 'discrete') -> None:
    """Write ``(name, class_name)`` rows; ``class_name=None`` writes a clip list."""
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        labelled = any(label is not None for _, label in rows)
        writer.writerow(['name', label_column] if labelled else ['name'])
        for name, label in rows:
            writer.writerow([name, label] if labelled else [name])


def keep_listed(rows: Sequence[Tuple[str, int]], list_file: str,
                source: str) -> List[Tuple[str, int]]:
    """The ``rows`` (read from ``source``) whose clip ``list_file`` names,
    in ``rows`` order; ``list_file`` is a CSV with a ``name`` column.

    Raises:
        ValueError: ``list_file`` names a clip that is not in ``rows``.
    """
    wanted = {n for n, _ in read_label_csv(list_file, (), labelled=False)}
    unknown = sorted(wanted - {n for n, _ in rows})
    if unknown:
        raise ValueError(f'{list_file}: {len(unknown)} clip(s) are not in '
                         f'{source} (e.g. {unknown[:5]}); a subset must name '
                         'clips of the split')
    return [row for row in rows if row[0] in wanted]


def concat_label_csvs(sources: Sequence[str], dest: str) -> None:
    """Write the rows of several label CSVs, in order, as one CSV.

    Every column is kept (e.g. a speaker column for grouped folds), so the
    sources must have the same header; a clip in two sources would be one
    clip counted twice. Each source is read (and checked) by
    :func:`~.clip_table.read_clip_rows`.

    Raises:
        ValueError: the headers differ, or a clip name repeats.
    """
    header, rows, seen = None, [], {}
    for path in sources:
        columns, clip_rows = read_clip_rows(path, 'name', (), 'label file')
        if header is None:
            header = columns
        elif columns != header:
            raise ValueError(f'{path}: columns {columns} differ from '
                             f'{sources[0]}\'s {header}; label files '
                             'pooled into one need the same columns')
        for row in clip_rows:
            if row.name in seen:
                raise ValueError(f'{path}:{row.line}: clip {row.name!r} is '
                                 f'in both {seen[row.name]} and {path}; '
                                 'pooled label files must not share clips')
            seen[row.name] = path
            rows.append(row.cells)
    with open(dest, 'w', newline='', encoding='utf-8') as f:
        writer = csv.DictWriter(f, fieldnames=header or ['name'])
        writer.writeheader()
        writer.writerows(rows)
