"""Share a clip list among torchrun ranks and bring their results together.

Under ``torchrun`` every rank runs the whole extraction tool on its own
share of the clips (its own GPU, its own decode workers); the process group
is used only to agree on the shares and to gather the per-rank results, so
gloo is enough even on GPU machines. Without a process group everything
here is the identity (one rank).

Shares (:func:`shard_by_cost`) are deterministic and disjoint: the longest
clips are dealt first, each to the rank with the least work so far
("longest processing time first"), using the clip duration where the clip
list gives one and the mean known duration otherwise.
"""
import heapq
from typing import List, Optional, Sequence, Tuple

import torch.distributed as dist


def rank_and_world() -> Tuple[int, int]:
    """``(rank, world_size)`` of the initialised process group, else ``(0, 1)``."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shard_by_cost(costs: Sequence[Optional[float]],
                  world_size: int) -> List[List[int]]:
    """Deal items to ranks so that each rank's total cost is about equal.

    Args:
        costs: ``(N,)`` cost per item (e.g. clip seconds); ``None`` = unknown,
            counted as the mean of the known costs (1.0 if none is known).
        world_size: number of ranks (>= 1).

    Returns:
        ``world_size`` lists of item indices, each ascending; together they
        hold every index exactly once. The same inputs give the same shares.
    """
    if world_size < 1:
        raise ValueError(f'world_size must be >= 1, got {world_size}')
    known = [float(c) for c in costs if c is not None]
    fill = sum(known) / len(known) if known else 1.0
    cost = [fill if c is None else float(c) for c in costs]
    # ties break on the item index, then on the rank: no dependence on
    # anything but the inputs
    order = sorted(range(len(cost)), key=lambda i: (-cost[i], i))
    loads = [(0.0, rank) for rank in range(world_size)]
    shares: List[List[int]] = [[] for _ in range(world_size)]
    for i in order:
        load, rank = heapq.heappop(loads)
        shares[rank].append(i)
        heapq.heappush(loads, (load + cost[i], rank))
    return [sorted(share) for share in shares]


def barrier() -> None:
    """Wait for every rank (no-op without a group)."""
    if rank_and_world()[1] > 1:
        dist.barrier()


def all_gather(obj: object) -> list:
    """Every rank's ``obj``, in rank order (``[obj]`` without a group)."""
    _, world = rank_and_world()
    if world == 1:
        return [obj]
    out: list = [None] * world
    dist.all_gather_object(out, obj)
    return out


def from_rank0(obj: object) -> object:
    """Rank 0's ``obj`` on every rank (``obj`` itself without a group)."""
    _, world = rank_and_world()
    if world == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
