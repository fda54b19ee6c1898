"""Distributed training that also works on machines without CUDA.

MMEngine 0.10.7 assumes GPUs under ``torchrun``: it picks NCCL, calls
``torch.cuda.set_device`` and wraps the model with ``device_ids=[rank]``.
On a CPU-only machine all three fail. :func:`init_distributed` initialises
the process group itself (gloo without CUDA, NCCL with it) before the Runner
does, and :class:`MERDistributedDataParallel` drops ``device_ids`` for CPU
modules, so ``torchrun`` "just works" in both places (CI proves DDP on CPU).
"""
import os
from datetime import timedelta
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel

from ..registry import MODEL_WRAPPERS


def default_backend() -> str:
    """NCCL when CUDA is usable, else gloo."""
    return 'nccl' if torch.cuda.is_available() else 'gloo'


def init_distributed(backend: Optional[str] = None,
                     timeout_s: int = 1800) -> None:
    """Initialise ``torch.distributed`` from torchrun's environment.

    Args:
        backend: ``None`` picks :func:`default_backend`.
        timeout_s: collective timeout (a crashed rank fails the job after it).
    """
    if dist.is_available() and dist.is_initialized():
        return
    for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR'):
        if key not in os.environ:
            raise RuntimeError(f'{key} is not set: launch distributed jobs '
                               'with torchrun (tools/dist_train.sh)')
    backend = backend or default_backend()
    if backend == 'nccl':
        torch.cuda.set_device(int(os.environ['LOCAL_RANK']))
    dist.init_process_group(backend=backend,
                            timeout=timedelta(seconds=timeout_s))


@MODEL_WRAPPERS.register_module()
class MERDistributedDataParallel(MMDistributedDataParallel):
    """MMEngine's DDP wrapper, minus ``device_ids`` when the model is on CPU."""

    def __init__(self, module: torch.nn.Module, device_ids=None,
                 **kwargs) -> None:
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        super().__init__(module=module, device_ids=None if on_cpu
                         else device_ids, **kwargs)
