"""Worker of test_dual_contrastive_ddp.py (a module so spawn can import it)."""
from pathlib import Path
from typing import Dict, List

import torch
import torch.distributed as dist

NAMES = ('video', 'audio', 'text')


def make_batch(scenario: str):
    """Full batch shared by the test and every rank: feats, labels, weights, split."""
    g = torch.Generator().manual_seed(7)
    b = 13
    feats = {n: torch.randn(b, 5, generator=g, dtype=torch.float64) for n in NAMES}
    labels = torch.randint(0, 4, (b,), generator=g)
    labels[[2, 9]] = -1
    weight = torch.rand(b, generator=g, dtype=torch.float64) + 0.1
    present = {n: torch.rand(b, generator=g) > 0.2 for n in NAMES}
    sizes: List[int] = [8, 5]  # unequal on purpose: exercises the padding
    if scenario == 'rank1_unlabelled':
        labels[8:] = -1  # rank 1 has no anchor but must still join collectives
    return feats, labels, weight, present, sizes


def run(rank: int, world: int, port: int, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=world)
    from mer_toolbox.registry import LOSSES
    loss = LOSSES.build(dict(type='BalancedDualContrastiveLoss', gather_distributed=True))
    results: Dict[str, dict] = {}
    for scenario in ('mixed', 'rank1_unlabelled'):
        feats, labels, weight, present, sizes = make_batch(scenario)
        lo, hi = sum(sizes[:rank]), sum(sizes[:rank + 1])
        local = {n: f[lo:hi].clone().requires_grad_() for n, f in feats.items()}
        out = loss(local, labels[lo:hi], weight[lo:hi],
                   {n: p[lo:hi] for n, p in present.items()})
        sum(out.values()).backward()
        results[scenario] = dict(losses={k: v.detach() for k, v in out.items()},
                                 grads={n: f.grad for n, f in local.items()})
    torch.save(results, Path(out_dir) / f'rank{rank}.pt')
    dist.destroy_process_group()
