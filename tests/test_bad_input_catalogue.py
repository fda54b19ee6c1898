"""The bad-input catalogue: every kind of bad input a user can hand the
toolbox, run through the real code path, one parametrised test.

The cases live in ``bad_input_*.py``, one module per area, with the
machinery in ``bad_input_common.py``. Each :class:`Case` writes its bad
input under the test's ``tmp_path`` and returns the call a user's run would
make. The test then checks that

(a) the call raises the documented exception type (a tool: exits non-zero),
(b) the message names the culprit (file, line, clip, key) and says what was
    expected (``says``: substrings that must all appear),
(c) nothing already computed is lost: every file that existed under
    ``tmp_path`` before the call is still there, byte for byte, plus the
    case's own ``kept`` check (a prior store keeps its records, a feature
    folder its files, an extraction run its finished clips).

``error=None`` marks input that must be *tolerated*; ``kept`` then asserts
how. Every case id is a row of ``docs/bad_input.md``.
"""
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import pytest
from mmengine.config import Config

import bad_input_data  # noqa: F401  (registers its cases)
import bad_input_stores  # noqa: F401
import bad_input_training  # noqa: F401
from bad_input_common import (BASE_CONFIG, CASES, REPO, Case, case,
                              dataset_cfg, read_all, snapshot, write_store)
from bad_input_stores import extraction, served, trained  # noqa: F401


# ------------------------------------------------------------- experiments
def cross_validation(root: Path, folds: int, **kwargs):
    from mer_toolbox.experiments import CrossValidation
    cfg = Config(dict(train_dataloader=dict(dataset=dataset_cfg(root)),
                      randomness=dict(seed=0)))
    return CrossValidation(cfg, str(root / 'cv'), folds, **kwargs)


@case('cv-folds-above-smallest-class', ValueError,
      says=('--folds 2 is larger than the smallest class', "'neutral' has 1 clip",
            'lower --folds'))
def _(tmp: Path, shared: Any) -> Callable:
    return cross_validation(write_store(tmp), 2).prepare


@case('cv-group-column-missing', ValueError,
      says=("--group-by 'speaker'", 'labels.csv has no such column',
            "columns: ['name', 'discrete']"))
def _(tmp: Path, shared: Any) -> Callable:
    return cross_validation(write_store(tmp), 2, group_by='speaker').prepare


@case('cv-fewer-groups-than-folds', ValueError,
      says=('--group-by: 2 group(s) cannot fill 3 folds',))
def _(tmp: Path, shared: Any) -> Callable:
    from mer_toolbox.experiments import make_folds
    labels, groups = [0, 1] * 6, ['spk_a'] * 6 + ['spk_b'] * 6
    return lambda: make_folds(labels, 3, groups=groups)


@case('cv-work-dir-of-another-k', ValueError,
      says=('cv_plan.json', 'a different --folds (5 there, 3 now)',
            'nothing was overwritten'))
def _(tmp: Path, shared: Any) -> Callable:
    from mer_toolbox.experiments.folds import check_or_write_plan
    plan = dict(folds=5, split_seed=0, group_by=None, config='x',
                folds_held_out=[])
    check_or_write_plan(str(tmp), plan)
    return lambda: check_or_write_plan(str(tmp), dict(plan, folds=3))


@case('cv-subset-names-unknown-clip', ValueError,
      says=('subset.csv: 1 clip(s) are not in', 'labels.csv', "['clip_z']"))
def _(tmp: Path, shared: Any) -> Callable:
    root = write_store(tmp)
    (root / 'subset.csv').write_text('name\nclip_a\nclip_z\n')
    return read_all(root, subset_file='subset.csv')


@case('sweep-search-space-unknown-key', KeyError,
      says=("search_space key 'model.head.dropuot' names no config key",
            "model.head has no 'dropuot'", "did you mean ['dropout']"))
def _(tmp: Path, shared: Any) -> Callable:
    from mer_toolbox.experiments.search_space import check_search_space
    cfg = Config.fromfile(BASE_CONFIG)
    cfg.search_space = {'model.head.dropuot': dict(type='float', low=0, high=1)}
    return lambda: check_search_space(cfg)


@case('sweep-storage-unreachable', ConnectionError,
      says=("--storage 'postgresql://user:***@127.0.0.1:9/optuna' cannot be "
            'reached or opened',))
def _(tmp: Path, shared: Any) -> Callable:
    pytest.importorskip('optuna')
    from mer_toolbox.experiments.sweep import open_study
    return lambda: open_study('postgresql://user:secret@127.0.0.1:9/optuna', 'study')


# -------------------------------------------------------------------- tests
def message_of(err: BaseException) -> str:
    return err.args[0] if isinstance(err, KeyError) and err.args else str(err)


@pytest.mark.parametrize('case', CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, request) -> None:
    shared = SimpleNamespace(**{n: request.getfixturevalue(n)
                                for n in case.needs})
    call = case.make(tmp_path, shared)
    before = snapshot(tmp_path)
    result = None
    if case.error is None:
        result = call()
    else:
        with pytest.raises(case.error) as info:
            call()
        message = message_of(info.value)
        missing = [part for part in case.says if part not in message]
        assert not missing, f'message lacks {missing}: {message}'
        # (c) a failing call never deletes or rewrites existing files
        assert snapshot(tmp_path) == before
    if case.kept is not None:
        case.kept(tmp_path, shared, result)


def test_catalogue_is_documented_and_large_enough() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 30
    doc = Path(REPO, 'docs', 'bad_input.md').read_text(encoding='utf-8')
    undocumented = [i for i in ids if f'`{i}`' not in doc]
    assert not undocumented, f'add rows to docs/bad_input.md: {undocumented}'

