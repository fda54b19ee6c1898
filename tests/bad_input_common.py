"""The bad-input catalogue's machinery: :class:`Case`, the ``case``
decorator that registers one, and helpers that write a small feature store
or run a tool. The cases themselves live in ``bad_input_*.py`` by area; the
one test that runs them all is ``test_bad_input_catalogue.py``.
"""
import hashlib
import importlib.util
import logging
import os.path as osp
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

import numpy as np
from mmengine.config import Config

from mer_test_utils import REPO
from mer_toolbox.constants import MER2024_CLASSES
from mer_toolbox.registry import DATASETS

TESTS = osp.dirname(osp.abspath(__file__))
sys.path[:0] = [osp.join(TESTS, 'apis'), osp.join(TESTS, 'media')]

DIMS = dict(video=4, audio=3)
FOLDERS = {m: f'{m}-UTT' for m in DIMS}
NAMES = ('clip_a', 'clip_b', 'clip_c', 'clip_d')
POOL = ('pool_0', 'pool_1', 'pool_2', 'pool_3')
BASE_CONFIG = osp.join(REPO, 'configs', 'ablations', 'ce_bdcl.py')


# ------------------------------------------------------------ the catalogue
@dataclass(frozen=True)
class Case:
    """One bad input (see the module doc)."""

    id: str
    make: Callable[[Path, Any], Callable[[], Any]]
    error: Optional[Type[BaseException]]
    says: Tuple[str, ...] = ()
    kept: Optional[Callable[[Path, Any, Any], None]] = None
    needs: Tuple[str, ...] = ()


CASES: List[Case] = []


def case(id: str, error: Optional[Type[BaseException]],
         says: Tuple[str, ...] = (), kept: Optional[Callable] = None,
         needs: Tuple[str, ...] = ()) -> Callable:
    """Register the decorated ``make(tmp, shared) -> call`` as a case."""
    def register(make):
        CASES.append(Case(id, make, error, tuple(says), kept, tuple(needs)))
        return make
    return register


# ---------------------------------------------------------------- helpers
def write_store(root: Path) -> Path:
    """Labelled clips + a pool in the MERTools layout, ``labels.csv`` and
    ``pool.csv``; returns ``root``."""
    rng = np.random.default_rng(0)
    for m, d in DIMS.items():
        (root / FOLDERS[m]).mkdir(parents=True, exist_ok=True)
        for name in NAMES + POOL:
            np.save(root / FOLDERS[m] / f'{name}.npy',
                    rng.normal(size=d).astype(np.float32))
    labels = ''.join(f'{n},{c}\n' for n, c in zip(NAMES, MER2024_CLASSES))
    (root / 'labels.csv').write_text('name,discrete\n' + labels)
    (root / 'pool.csv').write_text('name\n' + ''.join(f'{n}\n' for n in POOL))
    return root


def dataset_cfg(root: Path, **overrides) -> dict:
    cfg = dict(type='MERFeatureDataset', ann_file='labels.csv',
               data_root=str(root), data_prefix=dict(FOLDERS),
               feature_dims=dict(DIMS))
    return dict(cfg, **overrides)


def read_all(root: Path, **overrides) -> Callable[[], list]:
    """Build the dataset and read every item, as an epoch does."""
    def call():
        dataset = DATASETS.build(dataset_cfg(root, **overrides))
        return [dataset[i] for i in range(len(dataset))]
    return call


def model_cfg(modalities: Tuple[str, ...] = ('video', 'audio'),
              **dims: int) -> dict:
    cfg = Config.fromfile(BASE_CONFIG).model
    cfg.modalities, cfg.feature_dims = list(modalities), dict(DIMS, **dims)
    return cfg.to_dict()


def snapshot(root: Path) -> Dict[str, str]:
    """Relative path -> sha1 of every file under ``root``."""
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file()}


class ToolFailed(Exception):
    """A tool's ``main()`` returned non-zero; the message is what it logged."""


def tool_main(tool: str, argv: list) -> Callable[[], int]:
    """Run ``tools/<tool>.py``'s ``main(argv)`` in this process."""
    def call():
        spec = importlib.util.spec_from_file_location(
            f'{tool}_tool', osp.join(REPO, 'tools', f'{tool}.py'))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        lines = []
        handler = logging.Handler()
        handler.emit = lambda record: lines.append(record.getMessage())
        logger = logging.getLogger('mer_toolbox')
        logger.addHandler(handler)
        try:
            code = module.main([str(a) for a in argv])
        finally:
            logger.removeHandler(handler)
        if code:
            raise ToolFailed(f'exit {code}: ' + '\n'.join(lines))
        return code
    return call


