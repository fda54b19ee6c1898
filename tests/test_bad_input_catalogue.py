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

import pytest

import bad_input_data  # noqa: F401  (registers its cases)
import bad_input_stores  # noqa: F401
import bad_input_training  # noqa: F401
from bad_input_common import CASES, REPO, Case, snapshot
from bad_input_stores import extraction, served, trained  # noqa: F401


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

