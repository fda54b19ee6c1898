"""Tiny random checkpoints saved to folders, loaded offline like real ones.

Not a conftest.py on purpose (see tests/media/media_fixtures.py).
"""
import atexit
import functools
import shutil
import tempfile

import pytest

from mer_toolbox.media.demo_assets import build_tiny_checkpoints


@functools.lru_cache(maxsize=None)
def _tiny_models() -> tuple:
    folder = tempfile.mkdtemp(prefix='mer_tiny_models_')
    atexit.register(shutil.rmtree, folder, True)
    return tuple(build_tiny_checkpoints(folder).items())


@pytest.fixture
def tiny_models():
    return dict(_tiny_models())


@pytest.fixture(autouse=True)
def hub_offline(monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.setenv('TRANSFORMERS_OFFLINE', '1')
