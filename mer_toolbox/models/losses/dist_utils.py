"""Cross-rank gathering for losses whose denominators span the global batch.

Ranks may hold different batch sizes (the last batch, or different numbers of
labelled clips), so :func:`all_gather_cat` pads to the largest local size,
gathers, and strips the padding again.

Gradient convention: the backward of the gather sums, over ranks, every rank's
gradient with respect to the gathered tensor and hands each rank the slice of
its own rows (as :mod:`torch.distributed.nn` does). With DDP averaging the
parameter gradients over ranks, a loss whose mean over ranks is the full-batch
loss then receives exactly the full-batch gradient.
"""
from typing import List, Tuple

import torch
import torch.distributed as dist
from torch import Tensor


def distributed_world_size() -> int:
    """World size of the default process group, 1 when not distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


class _AllGatherCat(torch.autograd.Function):
    """Concatenate every rank's ``(B_r, ...)`` tensor along dim 0."""

    @staticmethod
    def forward(ctx, x: Tensor, sizes: List[int], rank: int) -> Tensor:
        ctx.sizes, ctx.rank = sizes, rank
        pad = max(sizes) - x.shape[0]
        padded = torch.cat([x, x.new_zeros((pad, *x.shape[1:]))]).contiguous()
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded)
        return torch.cat([p[:n] for p, n in zip(parts, sizes)])  # (N, ...)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tuple[Tensor, None, None]:
        # Every rank's loss depends on every rank's rows: sum those gradients.
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = sum(ctx.sizes[:ctx.rank])
        return grad[start:start + ctx.sizes[ctx.rank]], None, None


def all_gather_cat(x: Tensor) -> Tuple[Tensor, int]:
    """Gather ``x`` ``(B_r, ...)`` from all ranks, keeping the gradient path.

    Must be called by every rank of the default group (it is a collective).

    Args:
        x: this rank's rows ``(B_r, ...)``; ``B_r`` may differ across ranks.

    Returns:
        ``(x_all, offset)``: the rows of all ranks in rank order ``(N, ...)``
        with ``N = sum_r B_r``, and the index of this rank's first row in it.
    """
    rank = dist.get_rank()
    size = torch.tensor([x.shape[0]], device=x.device)
    sizes = [torch.zeros_like(size) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, size)
    sizes = [int(s.item()) for s in sizes]
    return _AllGatherCat.apply(x, sizes, rank), sum(sizes[:rank])


def all_reduce_sum(x: Tensor) -> Tensor:
    """Sum of ``x`` over ranks, outside autograd (for normalisers)."""
    x = x.detach().clone()
    dist.all_reduce(x, op=dist.ReduceOp.SUM)
    return x
