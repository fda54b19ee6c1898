"""Reading MER label CSVs (``name,discrete[,...]``) and clip lists (``name``)."""
import csv
from typing import List, Optional, Sequence, Tuple

from ..utils.clip_name import clip_name


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
            (:mod:`mer_toolbox.utils.clip_name`) or a duplicate clip name;
            the message names the file, line and clip.
    """
    try:
        return _read_rows(path, classes, labelled, label_column)
    except UnicodeDecodeError as err:
        raise ValueError(
            f'{path}: not UTF-8 text (byte {err.object[err.start]:#04x} at '
            f'offset {err.start}); expected a UTF-8 CSV (re-save it as '
            'UTF-8)') from None


def _read_rows(path: str, classes: Sequence[str], labelled: bool,
               label_column: str) -> List[Tuple[str, int]]:
    lookup = {c.lower(): i for i, c in enumerate(classes)}
    try:
        f = open(path, newline='', encoding='utf-8-sig')
    except FileNotFoundError:
        raise FileNotFoundError(f'label file {path!r} does not exist') from None
    with f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None:
            raise ValueError(f'{path}: empty file, expected a header with a '
                             "'name' column")
        fields = [c.strip() for c in reader.fieldnames]
        reader.fieldnames = fields
        repeated = sorted({c for c in fields if fields.count(c) > 1})
        if repeated:  # csv.DictReader would keep the last one silently
            raise ValueError(f'{path}: duplicate column names {repeated} '
                             f'(columns: {fields}); expected each column '
                             'once')
        if 'name' not in fields:
            raise ValueError(f"{path}: no 'name' column (columns: {fields})")
        if labelled and label_column not in fields:
            raise ValueError(f'{path}: no {label_column!r} label column '
                             f'(columns: {fields}); for an unlabelled pool '
                             'set labelled=False')
        rows: List[Tuple[str, int]] = []
        first_line = {}
        for line_no, row in enumerate(reader, start=2):
            name = clip_name(row.get('name') or '', f'{path}:{line_no}')
            if name in first_line:
                raise ValueError(f'{path}:{line_no}: duplicate clip name '
                                 f'{name!r} (first on line {first_line[name]})')
            first_line[name] = line_no
            label = -1
            if labelled:
                text = (row.get(label_column) or '').strip()
                if text.lower() not in lookup:
                    raise ValueError(
                        f'{path}:{line_no}: clip {name!r} has unknown label '
                        f'{text!r}; expected one of {list(classes)}')
                label = lookup[text.lower()]
            rows.append((name, label))
    if not rows:
        raise ValueError(f'{path}: no clips listed (header only)')
    return rows


def write_label_csv(path: str, rows: Sequence[Tuple[str, Optional[str]]],
                    label_column: str = 'discrete') -> None:
    """Write ``(name, class_name)`` rows; ``class_name=None`` writes a clip list."""
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        labelled = any(label is not None for _, label in rows)
        writer.writerow(['name', label_column] if labelled else ['name'])
        for name, label in rows:
            writer.writerow([name, label] if labelled else [name])
