"""Fixtures for the raw-media tests: real mp4 files and tiny checkpoints.

Not a conftest.py on purpose: a second module named ``conftest`` on
sys.path can shadow another folder's. Test modules import
these fixtures by name; the builders are cached so every module shares one
set of files per process.
"""
import atexit
import functools
import os
import shutil
import tempfile

import pytest

from mer_toolbox.media.demo_assets import (build_tiny_checkpoints,
                                           write_synthetic_clip)


def _tempdir(prefix: str) -> str:
    folder = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, folder, True)
    return folder


@functools.lru_cache(maxsize=None)
def _tiny_models() -> tuple:
    return tuple(build_tiny_checkpoints(_tempdir('mer_tiny_models_')).items())


@functools.lru_cache(maxsize=None)
def _media_dir() -> str:
    root = _tempdir('mer_media_')
    good = write_synthetic_clip(os.path.join(root, 'good.mp4'))
    write_synthetic_clip(os.path.join(root, 'silent.mp4'), audio=False)
    write_synthetic_clip(os.path.join(root, 'audio_only.mp4'), video=False)
    with open(os.path.join(root, 'empty.mp4'), 'wb'):
        pass
    with open(os.path.join(root, 'garbage.mp4'), 'wb') as f:
        f.write(os.urandom(4096))
    with open(good, 'rb') as src, \
            open(os.path.join(root, 'truncated.mp4'), 'wb') as dst:
        dst.write(src.read()[:3000])
    return root


@pytest.fixture
def tiny_models():
    """Random tiny CLIP / HuBERT / BLOOM / timm checkpoints saved to folders."""
    return dict(_tiny_models())


@pytest.fixture
def media_dir():
    """Good and bad clips (a ``pathlib.Path``).

    ``good.mp4`` 1 s, 10 fps, 96x64 + 16 kHz tone; ``silent.mp4`` (no audio);
    ``audio_only.mp4``; ``empty.mp4`` (0 bytes); ``garbage.mp4`` (random
    bytes); ``truncated.mp4`` (first 3 kB of a good file).
    """
    import pathlib
    return pathlib.Path(_media_dir())


@pytest.fixture(autouse=True)
def hub_offline(monkeypatch):
    """Everything loads from local folders, as on a machine without a hub."""
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.setenv('TRANSFORMERS_OFFLINE', '1')
