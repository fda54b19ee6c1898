"""Fixtures for the prior tests: a fake Gemini server, clips, a canary key."""
import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.dirname(__file__))  # fake_gemini, prior_testutils
from fake_gemini import FakeGemini  # noqa: E402
from prior_testutils import CANARY_KEY, KEY_ENV, make_clips  # noqa: E402


@pytest.fixture
def fake_gemini():
    """A running fake server; scripts and latency are set by the test."""
    with FakeGemini() as fake:
        yield fake


@pytest.fixture
def canary_key(monkeypatch):
    """A recognisable API key in GEMINI_API_KEY (and nothing else set)."""
    for name in KEY_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('GEMINI_API_KEY', CANARY_KEY)
    return CANARY_KEY


@pytest.fixture
def clip_dir(tmp_path):
    """Eight synthetic clips ``c0`` ... ``c7`` with a clip list."""
    make_clips(str(tmp_path), [f'c{i}' for i in range(8)])
    return tmp_path
