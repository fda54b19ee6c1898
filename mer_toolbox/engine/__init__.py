"""Runner glue: checkpoint policy, CPU-capable DDP, hooks."""
from . import hooks  # noqa: F401
from .checkpoint import (UnsafeCheckpointError, load_checkpoint_file,
                         trust_checkpoints)
from .distributed import (MERDistributedDataParallel, default_backend,
                          init_distributed)
from .optim_constructor import TrainableParamsOptimWrapperConstructor
from .stage_checkpoint import resolve_checkpoint

__all__ = [
    'load_checkpoint_file', 'trust_checkpoints', 'UnsafeCheckpointError',
    'MERDistributedDataParallel', 'default_backend', 'init_distributed',
    'TrainableParamsOptimWrapperConstructor', 'resolve_checkpoint'
]
