"""Stratified (optionally grouped) K-fold splits of a labelled train split,
and the plan file that pins them to a cross-validation work dir."""
import csv
import json
import os
import os.path as osp
from collections import Counter
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..fileio.atomic import replaced_atomically

PLAN_FILE = 'cv_plan.json'


def make_folds(labels: Sequence[int], k: int, seed: int = 0,
               groups: Optional[Sequence[str]] = None,
               class_names: Optional[Sequence[str]] = None
               ) -> List[np.ndarray]:
    """Held-out sample indices of each of ``k`` stratified folds.

    Every class is spread over the folds in proportion (scikit-learn's
    ``StratifiedKFold``, shuffled with ``seed``); with ``groups`` a group
    (e.g. a speaker) never straddles two folds (``StratifiedGroupKFold``).

    Args:
        labels: ``(N,)`` class ids of the train split.
        k: number of folds, at least 2.
        seed: shuffling seed; the same seed gives the same folds.
        groups: ``(N,)`` group id per sample, or ``None``.
        class_names: names of the class ids, for error messages.

    Returns:
        ``k`` sorted index arrays: disjoint, together ``range(N)``.

    Raises:
        ValueError: ``k < 2``, ``k`` larger than the smallest class, or
            fewer groups than ``k``.
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
    labels = np.asarray(labels)
    if k < 2:
        raise ValueError(f'--folds must be at least 2 to split, got {k}')
    counts = Counter(labels.tolist())
    smallest, size = min(counts.items(), key=lambda kv: kv[1])
    if size < k:
        shown = class_names[smallest] if class_names else f'id {smallest}'
        raise ValueError(f'--folds {k} is larger than the smallest class '
                         f'({shown!r} has {size} clip(s)); every '
                         'fold needs a held-out clip of every class: lower '
                         '--folds')
    dummy = np.zeros(len(labels))
    if groups is None:
        splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
        splits = splitter.split(dummy, labels)
    else:
        n_groups = len(set(groups))
        if n_groups < k:
            raise ValueError(f'--group-by: {n_groups} group(s) cannot fill '
                             f'{k} folds; lower --folds or group by a finer '
                             'column')
        splitter = StratifiedGroupKFold(k, shuffle=True, random_state=seed)
        splits = splitter.split(dummy, labels, np.asarray(groups))
    return [np.sort(held_out) for _, held_out in splits]


def read_group_column(ann_file: str, column: str) -> Dict[str, str]:
    """``{clip name: group}`` from an optional column of a label CSV.

    Raises:
        ValueError: the column is missing or a clip's group is empty.
    """
    with open(ann_file, newline='', encoding='utf-8-sig') as f:
        reader = csv.DictReader(f)
        fields = [c.strip() for c in reader.fieldnames or []]
        if column not in fields:
            raise ValueError(f'--group-by {column!r}: {ann_file} has no such '
                             f'column (columns: {fields})')
        reader.fieldnames = fields
        out = {}
        for line_no, row in enumerate(reader, start=2):
            group = (row.get(column) or '').strip()
            if not group:
                raise ValueError(f'{ann_file}:{line_no}: clip '
                                 f'{row["name"].strip()!r} has an empty '
                                 f'{column!r} (--group-by needs one per clip)')
            out[row['name'].strip()] = group
    return out


def check_or_write_plan(work_dir: str, plan: dict) -> dict:
    """Pin ``plan`` (folds, seeds, config) to ``work_dir``.

    The first launch writes ``cv_plan.json``; a relaunch must describe the
    same folds and recipe, so finished members stay valid. Training seeds
    are not part of the plan: new seeds add members to the same folds.

    Raises:
        ValueError: the work dir holds folds made with another ``K``, split
            seed, grouping, train split or config; nothing is overwritten.
    """
    path = osp.join(work_dir, PLAN_FILE)
    if not osp.isfile(path):
        os.makedirs(work_dir, exist_ok=True)
        with replaced_atomically(path) as tmp, open(tmp, 'w', encoding='utf-8') as f:
            json.dump(plan, f, indent=1)
        return plan
    with open(path, encoding='utf-8') as f:
        old = json.load(f)
    labels = dict(folds='--folds', split_seed='--split-seed',
                  group_by='--group-by', include_val='--include-val',
                  config='config (after --cfg-options)',
                  folds_held_out='train split')
    for key, what in labels.items():
        if old.get(key) != plan.get(key):
            shown = ((old.get(key), plan.get(key)) if key in
                     ('folds', 'split_seed', 'group_by', 'include_val')
                     else ('...', '...'))
            raise ValueError(
                f'{path}: this work dir holds a cross-validation run made '
                f'with a different {what} ({shown[0]!r} there, {shown[1]!r} now); '
                'use a new --work-dir (nothing was overwritten)')
    return old
