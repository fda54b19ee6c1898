"""Runner glue: checkpoint policy, CPU-capable DDP, hooks."""
from . import hooks  # noqa: F401
from .checkpoint import (UnsafeCheckpointError, load_checkpoint_file,
                         trust_checkpoints, use_safe_checkpoint_loader)
from .distributed import (MERDistributedDataParallel, default_backend,
                          init_distributed)
from .optim_constructor import TrainableParamsOptimWrapperConstructor
from .runner import MERRunner, build_runner
from .stage_checkpoint import resolve_checkpoint

__all__ = [
    'load_checkpoint_file', 'trust_checkpoints', 'UnsafeCheckpointError',
    'use_safe_checkpoint_loader', 'MERRunner', 'build_runner',
    'MERDistributedDataParallel', 'default_backend', 'init_distributed',
    'TrainableParamsOptimWrapperConstructor', 'resolve_checkpoint'
]
