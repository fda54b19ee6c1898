"""Speed of the vectorised BDCL loss against the loop reference (CPU).

Forward + backward, 3 modalities, D=256, float32, median over repeats.
Prints Markdown tables; results are recorded in benchmarks/README.md.

    python benchmarks/bdcl_speed.py [--threads N] [--repeats 20]
"""
import argparse
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / 'benchmarks')]
from _bdcl_reference import reference_dual_contrastive  # noqa: E402
from mer_toolbox.models.losses import BalancedDualContrastiveLoss  # noqa: E402

NAMES = ('video', 'audio', 'text')


def make_inputs(batch: int, dim: int, num_classes: int = 6, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    feats = {n: torch.randn(batch, dim, generator=g).requires_grad_() for n in NAMES}
    labels = torch.randint(0, num_classes, (batch,), generator=g)
    labels[torch.rand(batch, generator=g) < 0.1] = -1  # some unlabelled clips
    return feats, labels


def median_ms(step: Callable[[], None], repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def vectorised_step(loss: BalancedDualContrastiveLoss, feats: Dict[str, torch.Tensor],
                    labels: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        for f in feats.values():
            f.grad = None
        sum(loss(feats, labels).values()).backward()
    return step


def reference_step(feats: Dict[str, torch.Tensor], labels: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        for f in feats.values():
            f.grad = None
        out = reference_dual_contrastive(feats, labels)
        (0.2 * out['intra'] + 0.2 * out['inter']).backward()
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dim', type=int, default=256)
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--ref-batch', type=int, default=256,
                        help='batch size of the (slow) reference comparison')
    parser.add_argument('--ref-repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    loss = BalancedDualContrastiveLoss()
    print(f'torch {torch.__version__}, {platform.processor() or platform.machine()}, '
          f'{torch.get_num_threads()} threads, D={args.dim}, 3 modalities, float32\n')

    feats, labels = make_inputs(args.ref_batch, args.dim)
    fast = median_ms(vectorised_step(loss, feats, labels), args.repeats)
    slow = median_ms(reference_step(feats, labels), args.ref_repeats, warmup=0)
    print('| B | vectorised fwd+bwd (ms) | loop reference fwd+bwd (ms) | speed-up |')
    print('|---|---|---|---|')
    print(f'| {args.ref_batch} | {fast:.2f} | {slow:.0f} | {slow / fast:.0f}x |\n')

    print('| B | vectorised fwd+bwd (ms) |')
    print('|---|---|')
    for batch in (64, 128, 256, 512, 1024):
        feats, labels = make_inputs(batch, args.dim)
        print(f'| {batch} | {median_ms(vectorised_step(loss, feats, labels), args.repeats):.2f} |')


if __name__ == '__main__':
    main()
