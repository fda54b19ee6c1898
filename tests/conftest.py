"""Fixtures shared by the whole suite: tiny demo data."""
import os

import pytest

from mer_test_utils import REPO, TINY_SIZES

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')


@pytest.fixture(scope='session')
def repo_root() -> str:
    return REPO


@pytest.fixture(scope='session')
def tiny_demo_root(tmp_path_factory) -> str:
    """A small demo dataset generated once per test session."""
    from mer_toolbox.datasets import ensure_demo_data
    root = str(tmp_path_factory.mktemp('demo') / 'mer_demo')
    return ensure_demo_data(root, seed=0, sizes=TINY_SIZES)
