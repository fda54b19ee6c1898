"""The package's collectives: every cross-rank call of mer_toolbox goes
through this module (a test scans the package for others).

Each backend serves tensors of one kind of device: NCCL only CUDA tensors,
gloo CPU ones. :func:`collective_device` says which, and every helper here
moves its tensors there and back, so callers may pass tensors from anywhere
(the pseudo-label hook's CPU scores, a loss's CUDA embeddings).

Cross-rank gathering for losses whose denominators span the global batch:

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


def collective_device() -> torch.device:
    """The device the default group's backend communicates on.

    NCCL: the current CUDA device; gloo or a mixed ``cpu:gloo,cuda:nccl``
    group: the CPU (which such a group serves through gloo).
    """
    backend = str(dist.get_backend()).lower()
    if 'nccl' in backend and 'cpu' not in backend:
        return torch.device('cuda', torch.cuda.current_device())
    return torch.device('cpu')


def distributed_world_size() -> int:
    """World size of the default process group, 1 when not distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


class _AllGatherCat(torch.autograd.Function):
    """Concatenate every rank's ``(B_r, ...)`` tensor along dim 0."""

    @staticmethod
    def forward(ctx, x: Tensor, sizes: List[int], rank: int) -> Tensor:
        ctx.sizes, ctx.rank, ctx.device = sizes, rank, x.device
        pad = max(sizes) - x.shape[0]
        padded = torch.cat([x, x.new_zeros((pad, *x.shape[1:]))]).to(
            collective_device()).contiguous()
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded)
        out = torch.cat([p[:n] for p, n in zip(parts, sizes)])  # (N, ...)
        return out.to(x.device)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tuple[Tensor, None, None]:
        # Every rank's loss depends on every rank's rows: sum those gradients.
        grad = grad.to(collective_device()).contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = sum(ctx.sizes[:ctx.rank])
        own = grad[start:start + ctx.sizes[ctx.rank]].to(ctx.device)
        return own, None, None


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
    size = torch.tensor([x.shape[0]], device=collective_device())
    sizes = [torch.zeros_like(size) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, size)
    sizes = [int(s.item()) for s in sizes]
    return _AllGatherCat.apply(x, sizes, rank), sum(sizes[:rank])


def all_reduce_sum(x: Tensor) -> Tensor:
    """Sum of ``x`` over ranks, outside autograd (for normalisers)."""
    out = x.detach().to(collective_device()).clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out.to(x.device)
