"""Summarise work dirs into one comparison table, optionally over seeds.

Per work dir: the config name, its seed, the best validation score and the
epoch it came from (``scalars.json``), and the test metrics when
``test_metrics.json`` exists (written by ``tools/test.py``).

Runs are grouped either by their config with the seed (and the work dir) left
out, so only runs that really differ in nothing but the seed are averaged, or
by a regular expression removed from the work dir's name
(``--group-regex '_seed\\d+$'``). Groups report mean and the sample standard
deviation (``ddof=1``; one run has none).
"""
import glob
import json
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from .scalars import (DEFAULT_METRIC, best_val_record, find_scalar_logs,
                      last_val_record, load_run_scalars)
from .tables import Table

#: Test metrics taken from ``test_metrics.json`` (all percentages).
TEST_KEYS = ('waf', 'accuracy', 'macro_f1', 'uar')
#: Config keys that differ between runs without making them different recipes.
RUN_LOCAL_KEYS = ('work_dir', 'launcher', 'resume')


@dataclass
class RunSummary:
    """What one work dir contributes to the comparison.

    Attributes:
        run: the work dir's base name.
        config: config name (the file the run was started from).
        seed: ``randomness.seed`` of the run, if recorded.
        recipe: the config as canonical JSON without seed and run-local keys.
        values: ``epoch`` (of the checkpoint the run keeps as its result:
            the best by validation ``metric`` when its config has
            ``save_best``, else the last), ``val_<metric>`` and
            ``val_accuracy`` of that epoch, and ``test_<key>``; missing ones
            are absent.
    """

    run: str
    config: str
    seed: Optional[int]
    recipe: str
    values: Dict[str, float] = field(default_factory=dict)


def _load_config_dict(path: str) -> dict:
    from mmengine.config import Config
    return Config.fromfile(path).to_dict()


def _read(path: str) -> str:
    with open(path, encoding='utf-8') as f:
        return f.read()


def _run_config(work_dir: str) -> tuple:
    """``(config name, config dict)`` of the run's training config.

    The Runner dumps the config twice: ``<work_dir>/<name>.py`` and
    ``<timestamp>/vis_data/config.py``; the latter is exact for the latest
    training, the former carries the name.
    """
    dumped = sorted(glob.glob(osp.join(glob.escape(work_dir), '*.py')))
    logs = find_scalar_logs(work_dir)
    exact = osp.join(osp.dirname(logs[-1]), 'config.py') if logs else None
    source = exact if exact and osp.isfile(exact) else (dumped[-1] if dumped else None)
    if source is None:
        return osp.basename(osp.normpath(work_dir)), {}
    name = None
    if len(dumped) == 1:
        name = dumped[0]
    elif exact:
        text = _read(exact)
        name = next((p for p in dumped if _read(p) == text), None)
    stem = osp.splitext(osp.basename(name))[0] if name else osp.basename(osp.normpath(work_dir))
    return stem, _load_config_dict(source)


def summarize_run(work_dir: str, metric: str = DEFAULT_METRIC) -> RunSummary:
    """Collect config, result epoch and test metrics of one run.

    Args:
        work_dir: a training work dir.
        metric: validation key that picks the best epoch (runs that keep a
            best checkpoint).

    Raises:
        FileNotFoundError: the folder has neither a scalar log nor a
            ``test_metrics.json``.
    """
    values: Dict[str, float] = {}
    logs = find_scalar_logs(work_dir)
    test_json = osp.join(work_dir, 'test_metrics.json')
    if not logs and not osp.isfile(test_json):
        raise FileNotFoundError(f'{work_dir!r} has no <timestamp>/vis_data/'
                                'scalars.json and no test_metrics.json')
    # local: the engine package (runner, hooks) is not needed to import
    # the table code
    from ..engine.stage_checkpoint import keeps_best_checkpoint
    name, cfg = _run_config(work_dir)
    if logs:
        scalars = load_run_scalars(work_dir)
        val = scalars.val
        # the epoch whose model the run keeps as its result
        keeps_best = keeps_best_checkpoint(cfg)
        kept = (best_val_record(val, metric) if keeps_best
                else last_val_record(val, metric))
        if kept is None and not keeps_best and scalars.train and \
                'epoch' in scalars.train[-1]:
            # trained without validation (a refit): its final epoch
            values['epoch'] = int(scalars.train[-1]['epoch'])
        if kept is not None:
            values['epoch'] = int(kept['step'])
            prefix, _, short = metric.rpartition('/')
            values[f'val_{short}'] = float(kept[metric])
            # Accuracy of the same epoch: what the paper reports next to WAF.
            accuracy = kept.get(f'{prefix}/accuracy' if prefix else 'accuracy')
            if short != 'accuracy' and accuracy is not None:
                values['val_accuracy'] = float(accuracy)
    if osp.isfile(test_json):
        with open(test_json, encoding='utf-8') as f:
            metrics = json.load(f).get('metrics', {})
        values.update({f'test_{k}': float(metrics[k]) for k in TEST_KEYS if k in metrics})
    seed = (cfg.get('randomness') or {}).get('seed')
    recipe = {k: v for k, v in cfg.items() if k not in RUN_LOCAL_KEYS}
    if 'randomness' in recipe:
        recipe['randomness'] = {k: v for k, v in recipe['randomness'].items() if k != 'seed'}
    return RunSummary(run=osp.basename(osp.normpath(work_dir)), config=name,
                      seed=None if seed is None else int(seed),
                      recipe=json.dumps(recipe, sort_keys=True, default=str),
                      values=values)


def _value_columns(runs: Sequence[RunSummary]) -> List[str]:
    order = ['epoch', 'val_waf', 'val_accuracy'] + [f'test_{k}' for k in TEST_KEYS]
    present = {k for r in runs for k in r.values}
    return [k for k in order if k in present] + sorted(present - set(order))


def runs_table(runs: Sequence[RunSummary]) -> Table:
    """One row per work dir: run, config, seed, then every value column."""
    cols = _value_columns(runs)
    table = Table(['run', 'config', 'seed'] + cols)
    for r in runs:
        table.add_row([r.run, r.config, r.seed] + [r.values.get(k) for k in cols])
    return table


def group_key_by_seed(runs: Sequence[RunSummary]) -> Callable[[RunSummary], str]:
    """Group by recipe; the label is the config name (numbered if ambiguous)."""
    labels: Dict[str, str] = {}
    for r in runs:
        if r.recipe not in labels:
            same_name = sum(lbl.split('#')[0] == r.config for lbl in labels.values())
            labels[r.recipe] = r.config if not same_name else f'{r.config}#{same_name + 1}'
    return lambda r: labels[r.recipe]


def group_key_by_regex(pattern: str) -> Callable[[RunSummary], str]:
    """Group by the run name with every match of ``pattern`` removed."""
    regex = re.compile(pattern)
    return lambda r: regex.sub('', r.run) or r.run


def grouped_table(runs: Sequence[RunSummary],
                  key: Callable[[RunSummary], str]) -> Table:
    """Mean and sample std (``ddof=1``) of every value column per group.

    Columns: ``group, runs, seeds`` then ``<col>_mean, <col>_std`` pairs. A
    value missing in some runs of a group is averaged over the runs that
    have it.
    """
    cols = [c for c in _value_columns(runs) if c != 'epoch']
    groups: Dict[str, List[RunSummary]] = {}
    for r in runs:
        groups.setdefault(key(r), []).append(r)
    table = Table(['group', 'runs', 'seeds'] +
                  [f'{c}_{s}' for c in cols for s in ('mean', 'std')])
    for label, members in groups.items():
        row = [label, len(members),
               ' '.join(str(r.seed) for r in members if r.seed is not None)]
        for c in cols:
            vals = np.array([r.values[c] for r in members if c in r.values], float)
            row.append(float(vals.mean()) if vals.size else None)
            row.append(float(vals.std(ddof=1)) if vals.size > 1 else None)
        table.add_row(row)
    return table


def mean_std_markdown(table: Table, digits: int = 2) -> str:
    """Render a :func:`grouped_table` with ``mean ± std`` cells."""
    base = table.columns[:3]
    metrics = [c[:-5] for c in table.columns[3::2]]
    out = Table(base + metrics)
    for row in table.rows:
        cells = list(row[:3])
        for mean, std in zip(row[3::2], row[4::2]):
            if mean is None:
                cells.append(None)
            elif std is None:
                cells.append(f'{mean:.{digits}f}')
            else:
                cells.append(f'{mean:.{digits}f} ± {std:.{digits}f}')
        out.add_row(cells)
    return out.to_markdown(digits)
