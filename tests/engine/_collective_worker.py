"""Worker of test_collectives.py (a module so spawn can import it)."""
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

COLLECTIVES = ('all_gather', 'all_reduce', 'broadcast', 'reduce', 'gather',
               'scatter', 'all_to_all', 'reduce_scatter',
               'all_gather_into_tensor', 'reduce_scatter_tensor')


def guard_collectives(calls: list) -> None:
    """Wrap the process group's collectives: each records its tensors'
    devices and refuses one the backend does not serve."""
    from mer_toolbox.models.losses.dist_utils import collective_device

    def tensors(args):
        for a in args:
            if isinstance(a, torch.Tensor):
                yield a
            elif isinstance(a, (list, tuple)):
                yield from tensors(a)

    def wrap(name, fn):
        def guarded(*args, **kwargs):
            served = collective_device()
            for t in tensors(list(args) + list(kwargs.values())):
                calls.append((name, str(t.device)))
                if t.device != served:
                    raise RuntimeError(f'{name} got a tensor on {t.device}; '
                                       f'backend {dist.get_backend()} serves '
                                       f'{served}')
            return fn(*args, **kwargs)
        return guarded
    for name in COLLECTIVES:
        if hasattr(dist, name):
            setattr(dist, name, wrap(name, getattr(dist, name)))


def run(rank: int, world: int, port: int, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=world)
    calls: list = []
    guard_collectives(calls)
    from mer_toolbox.engine.hooks.pool_scoring import gather_rows
    from mer_toolbox.models.losses.dist_utils import (all_gather_cat,
                                                      all_reduce_sum)
    local = np.full((3 + rank, 2), rank, np.float32)  # unequal shards
    rows = gather_rows(local)
    x = torch.full((2 - rank, 4), float(rank), requires_grad=True)
    gathered, offset = all_gather_cat(x)
    gathered.sum().backward()
    total = all_reduce_sum(torch.tensor([rank + 1.0]))
    torch.save(dict(rows=rows, gathered=gathered.detach(), offset=offset,
                    grad=x.grad, total=total, calls=calls),
               Path(out_dir) / f'rank{rank}.pt')
    dist.destroy_process_group()
