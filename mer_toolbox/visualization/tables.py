"""Small tables written as Markdown (for reading) and CSV (for code).

Markdown rounds to ``digits`` decimals; CSV keeps full float precision so a
script can recompute anything from it.
"""
import csv
import math
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, List, Sequence

#: What an empty or undefined cell shows in Markdown (e.g. no test run yet).
MISSING = '–'


def _markdown_cell(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, float):
        return f'{value:.{digits}f}'
    return str(value).replace('|', '\\|')


def _csv_cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ''
    return value


@dataclass
class Table:
    """Columns and rows of plain values (str, int, float or None).

    Attributes:
        columns: header names.
        rows: one list of ``len(columns)`` values per row.
    """

    columns: List[str]
    rows: List[List[Any]] = field(default_factory=list)

    def add_row(self, values: Sequence[Any]) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f'row has {len(values)} values for '
                             f'{len(self.columns)} columns {self.columns}')
        self.rows.append(list(values))

    def to_markdown(self, digits: int = 2) -> str:
        """GitHub Markdown; floats rounded to ``digits`` decimals."""
        lines = ['| ' + ' | '.join(self.columns) + ' |',
                 '|' + '---|' * len(self.columns)]
        for row in self.rows:
            lines.append('| ' + ' | '.join(_markdown_cell(v, digits)
                                           for v in row) + ' |')
        return '\n'.join(lines)

    def write_csv(self, path: str) -> str:
        """Write the table (full precision, empty cell for missing)."""
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        with open(path, 'w', encoding='utf-8', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(self.columns)
            for row in self.rows:
                writer.writerow([_csv_cell(v) for v in row])
        return path

    def write_markdown(self, path: str, digits: int = 2) -> str:
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(self.to_markdown(digits) + '\n')
        return path


def per_class_table(reports: Sequence[dict], row_names: Sequence[str]
                    ) -> Table:
    """The paper's Table-1 shape: ``Method | Avg | <class> ...``, one row per run.

    ``Avg`` is the overall accuracy and each class column that class's recall
    (per-class accuracy), exactly as
    :func:`mer_toolbox.evaluation.per_class_markdown` renders a single run.

    Args:
        reports: ``test_metrics.json`` contents
            (``EmotionMetric.dump_report_json``).
        row_names: one label per report.

    Raises:
        ValueError: a report has no per-class scores, or the runs disagree
            on the class list.
    """
    if len(reports) != len(row_names) or not reports:
        raise ValueError(f'{len(reports)} reports for {len(row_names)} names')
    classes = list(reports[0]['class_names'])
    table = Table(['Method', 'Avg'] + classes)
    for name, report in zip(row_names, reports):
        if list(report['class_names']) != classes:
            raise ValueError(f'{name}: classes {report["class_names"]} differ '
                             f'from the first run\'s {classes}')
        if not report.get('per_class'):
            raise ValueError(f'{name}: the report has no per-class scores '
                             '(no labelled clip was evaluated)')
        recall = [float(report['per_class'][c]['recall']) for c in classes]
        table.add_row([name, float(report['metrics']['accuracy'])] + recall)
    return table
