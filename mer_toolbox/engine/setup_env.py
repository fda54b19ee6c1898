"""Everything a tool does before building a Runner, in one place."""
import difflib
import os.path as osp
import sys
from typing import Iterable, Optional

import torch
from mmengine.config import Config


def register_all_modules() -> None:
    """Import every subpackage that registers components.

    Registries import lazily by themselves; importing up front makes a
    broken plugin or optional dependency fail before the Runner starts. The
    checkpoint loader is registered by ``mer_toolbox.engine.build_runner``.
    """
    import mer_toolbox.datasets  # noqa: F401
    import mer_toolbox.engine  # noqa: F401
    import mer_toolbox.evaluation  # noqa: F401
    import mer_toolbox.models  # noqa: F401


#: Top-level keys the MMEngine Runner (0.10.x) or our tools read.
RUNNER_KEYS = frozenset({
    'model', 'work_dir', 'train_dataloader', 'val_dataloader',
    'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr',
    'optim_wrapper', 'param_scheduler', 'val_evaluator', 'test_evaluator',
    'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from',
    'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level',
    'visualizer', 'default_scope', 'randomness', 'experiment_name',
    'model_wrapper_cfg', 'find_unused_parameters', 'sync_bn', 'compile',
    'activation_checkpointing', 'efficient_conv_bn_eval', 'resource_limit',
    'custom_imports', 'vis_backends', 'strategy', 'cfg', 'search_space'
})


def check_config_keys(cfg: Config, known: Iterable[str] = RUNNER_KEYS,
                      path: str = '') -> None:
    """Fail on a top-level key that looks like a misspelt Runner key.

    Configs may define helper variables (``data_root``, ``modalities``...),
    so an unknown key is only an error when it is close to a key the Runner
    reads: ``trian_cfg`` or ``optim_wraper`` would otherwise be ignored
    silently and the run would use the defaults.
    """
    known = set(known)
    for key in cfg.keys():
        if key in known or key.startswith('_'):
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
        if close:
            raise KeyError(f'{path or "config"}: top-level key {key!r} is '
                           f'read by nothing; did you mean {close[0]!r}?')


def _positive_int(value, key: str, path: str) -> None:
    # bool is an int; a string '16' prints like 16 in most messages
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f'{path}: {key} must be a positive integer, got '
                         f'{value!r} ({type(value).__name__})')


def check_config_values(cfg: Config, path: str = 'config') -> None:
    """Fail on numbers MMEngine would misread deep inside a run:
    ``train_cfg.max_epochs`` / ``max_iters`` and every loader's
    ``batch_size`` must be positive integers."""
    train_cfg = cfg.get('train_cfg') or {}
    for key in ('max_epochs', 'max_iters'):
        if key in train_cfg:
            _positive_int(train_cfg[key], f'train_cfg.{key}', path)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if isinstance(cfg.get(loader), dict) and 'batch_size' in cfg[loader]:
            _positive_int(cfg[loader]['batch_size'], f'{loader}.batch_size',
                          path)


def add_config_dir_to_path(path: str) -> None:
    """Let ``custom_imports`` find plugin modules next to the config.

    MMEngine imports ``custom_imports`` with a plain ``import``, so a plugin
    outside the package needs its folder on ``sys.path``. The config's own
    folder is appended (after everything installed, so it never shadows a
    real package); a plugin elsewhere still needs ``PYTHONPATH``.
    """
    folder = osp.dirname(osp.abspath(path))
    if folder not in sys.path:
        sys.path.append(folder)


def load_config(path: str, cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None,
                launcher: str = 'none') -> Config:
    """Read a config, apply ``--cfg-options``, resolve ``'auto'`` model
    fields from a feature folder and pick the work dir."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} does not exist')
    add_config_dir_to_path(path)
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    check_config_keys(cfg, path=path)
    # Class count, modalities and feature sizes of a feature-folder recipe
    # come from the data ('auto' fields), checked against explicit ones.
    from ..datasets.feature_folder_dataset import resolve_auto_fields
    resolve_auto_fields(cfg)
    check_config_values(cfg, path=path)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg


def setup_launcher(launcher: str) -> None:
    """Initialise torch.distributed ourselves so CPU-only DDP works."""
    if launcher == 'none':
        return
    if launcher != 'pytorch':
        raise ValueError(f'unsupported launcher {launcher!r}: use torchrun '
                         "with --launcher pytorch (tools/dist_train.sh)")
    from .distributed import init_distributed
    init_distributed()


def enable_amp(cfg: Config) -> None:
    """Switch the optimizer wrapper to mixed precision (CUDA only)."""
    if not torch.cuda.is_available():
        raise RuntimeError('--amp needs a CUDA device; this machine has none '
                           '(train in float32 on CPU)')
    opt = cfg.optim_wrapper
    if opt.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
        return
    if opt.get('type', 'OptimWrapper') != 'OptimWrapper':
        raise ValueError(f'--amp cannot convert optim_wrapper type '
                         f'{opt.type!r}; set AmpOptimWrapper in the config')
    opt.type = 'AmpOptimWrapper'
    opt.setdefault('loss_scale', 'dynamic')
