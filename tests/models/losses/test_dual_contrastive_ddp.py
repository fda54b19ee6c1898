"""BDCL with gather_distributed=True on 2 CPU (gloo) ranks = 1 process.

Convention under test: each rank's loss is scaled so that the *mean over
ranks* equals the full-batch loss, and the gradient a rank receives for its
own embeddings is ``world_size x`` the full-batch gradient (DDP's averaging
over ranks then gives the full-batch parameter gradient).
"""
import socket
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mer_toolbox.registry import LOSSES

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bdcl_ddp_worker as worker  # noqa: E402

WORLD = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not dist.is_available(), reason='torch.distributed unavailable')
def test_gathered_loss_and_gradients_match_single_process(tmp_path):
    mp.spawn(worker.run, args=(WORLD, _free_port(), str(tmp_path)), nprocs=WORLD)
    ranks = [torch.load(tmp_path / f'rank{r}.pt') for r in range(WORLD)]
    loss = LOSSES.build(dict(type='BalancedDualContrastiveLoss'))
    for scenario in ('mixed', 'rank1_unlabelled'):
        feats, labels, weight, present, sizes = worker.make_batch(scenario)
        feats = {n: f.clone().requires_grad_() for n, f in feats.items()}
        full = loss(feats, labels, weight, present)
        sum(full.values()).backward()
        for key, value in full.items():
            mean = sum(r[scenario]['losses'][key] for r in ranks) / WORLD
            torch.testing.assert_close(mean, value.detach(), rtol=0, atol=1e-12)
        for rank, result in enumerate(ranks):
            lo, hi = sum(sizes[:rank]), sum(sizes[:rank + 1])
            for name, f in feats.items():
                torch.testing.assert_close(result[scenario]['grads'][name] / WORLD,
                                           f.grad[lo:hi], rtol=0, atol=1e-12)
