"""Training throughput: the toolbox's Runner path against a bare PyTorch loop.

Both train the model of ``configs/ablations/ce_bdcl.py`` (MLP encoders,
attention fusion, linear head, cross-entropy + BDCL) with its optimizer
(Adam, lr 1e-3, weight decay 1e-4) on its training split (the demo data,
1200 clips, dims 64 / 48 / 32), the same batch size and the same number of
iterations, one thread. Loops:

* **toolbox**: what ``tools/train.py`` runs (``load_config`` +
  ``Runner.from_cfg`` + ``train``) with the config's hooks, validation off,
  logger interval 10^6 (it still logs once per epoch), checkpoint interval
  10^6 (the hook runs, nothing is written).
* **bare, same pipeline**: ``torch.utils.data.DataLoader`` over the same
  ``MERFeatureDataset`` items, ``pseudo_collate``, the model's data
  preprocessor, ``model(..., mode='loss')``, sum of the losses, backward,
  ``Adam.step``, the cosine schedule per epoch. The fair comparison: only the
  framework (Runner loop, OptimWrapper, hooks, MessageHub, logging) differs.
* **bare, preloaded items**: the items read once before timing, collated per
  batch (what per-clip ``.npy`` reads and ``EmotionSample`` creation cost).
* **bare, pre-collated**: batches collated once, reused (model compute, the
  floor).

Epoch 0 is a warm-up and is not timed; input statistics are fitted before
timing in every loop (``FeatureNormHook`` does it in ``before_train``).
Repeats are interleaved and the median is reported (the machine may be
shared). ``--profile`` adds a cProfile of one toolbox run, bucketed.

    python benchmarks/framework_overhead.py [--epochs 10] [--repeats 3]
        [--batch-size 64] [--threads 1] [--profile] [--json OUT]
"""
import argparse
import cProfile
import json
import os.path as osp
import platform
import pstats
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from mmengine.config import Config  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402

from mer_toolbox.registry import DATASETS, MODELS  # noqa: E402
from mer_toolbox.engine.setup_env import (load_config,  # noqa: E402
                                         register_all_modules)

CONFIG = osp.join(REPO, 'configs', 'ablations', 'ce_bdcl.py')
LOOP_EVENTS = ('before_train_iter', 'after_train_iter', 'before_train_epoch',
               'after_train_epoch')


def _named(*keys: str) -> Callable[[str], bool]:
    return lambda where: any(k in where for k in keys)


def _loop_hook(where: str) -> bool:
    file, func = where.split(':', 1)
    return 'hook' in file and func in LOOP_EVENTS


#: cProfile buckets: (label, test on "file basename:function")
BUCKETS = [
    ('data: dataset items (npy read, EmotionSample)', _named('prepare_data')),
    ('data: pseudo_collate', _named('pseudo_collate')),
    ('data: preprocessor (stack + cast_data)',
     _named('emotion_preprocessor.py:forward')),
    ('  BaseDataPreprocessor.cast_data', _named('data_preprocessor.py:cast')),
    ('model forward (loss mode)', _named('_run_forward')),
    ('backward + Adam step (OptimWrapper.update_params)',
     _named('update_params')),
    ('Runner.call_hook (every hook)', _named('runner.py:call_hook')),
    ('  FeatureNormHook.before_train (set-up, not timed)',
     _named('feature_norm_hook.py:before_train')),
    ('  hooks at iteration / epoch events (the loop)', _loop_hook),
    ('  LoggerHook.after_train_iter', _named('logger_hook.py:after_train_i')),
    ('  MessageHub.update_scalars', _named('message_hub.py:update_scalars')),
    ('BaseModel.parse_losses', _named('parse_losses')),
]


class EpochClock(Hook):
    """Wall time from the start of epoch ``first`` to the end of training."""

    priority = 'LOWEST'

    def __init__(self, first: int = 1) -> None:
        self.first, self.start, self.end, self.iters = first, None, None, 0

    def before_train_epoch(self, runner) -> None:
        if runner.epoch == self.first:
            self.start = time.perf_counter()

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self.iters += runner.epoch >= self.first

    def after_train_epoch(self, runner) -> None:
        self.end = time.perf_counter()


def toolbox_config(args: argparse.Namespace, data_root: str,
                   work_dir: str, run: int) -> Config:
    """ce_bdcl.py as tools/train.py loads it, validation and saving off."""
    cfg = load_config(CONFIG, work_dir=work_dir)
    cfg.experiment_name = f'overhead_{run}'
    cfg.train_dataloader.batch_size = args.batch_size
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_cfg = dict(by_epoch=True, max_epochs=args.epochs + 1)
    cfg.param_scheduler = [dict(type='CosineAnnealingLR',
                                T_max=args.epochs + 1, by_epoch=True,
                                eta_min=1e-5)]
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.logger.interval = 10 ** 6
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=10 ** 6, save_last=False)
    cfg.log_level = 'WARNING'
    return cfg


def run_toolbox(args: argparse.Namespace, data_root: str,
                run: int) -> Dict[str, float]:
    """One toolbox run; seconds and iterations of the timed epochs."""
    from mmengine.runner import Runner
    with tempfile.TemporaryDirectory() as work_dir:
        cfg = toolbox_config(args, data_root, work_dir, run)
        runner = Runner.from_cfg(cfg)
        clock = EpochClock()
        runner.register_hook(clock)
        torch.set_num_threads(args.threads)
        runner.train()
    return dict(seconds=clock.end - clock.start, iters=clock.iters)


def build_bare(args: argparse.Namespace, data_root: str) -> tuple:
    """The config's dataset, model (fitted input statistics) and optimizer."""
    cfg = load_config(CONFIG)
    cfg.train_dataloader.dataset.data_root = data_root
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.fit_input_norms({m: dataset.feature_statistics(m)
                           for m in model.modalities})
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3,
                                 weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=args.epochs + 1, eta_min=1e-5)
    return dataset, model, optimizer, schedule


def train_step(model, optimizer, batch: dict, preprocess: bool = True) -> None:
    data = model.data_preprocessor(batch, True) if preprocess else batch
    losses = model(**data, mode='loss')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def run_bare(args: argparse.Namespace, data_root: str,
             mode: str) -> Dict[str, float]:
    """``mode``: 'pipeline', 'preloaded' or 'collated' (see module doc)."""
    dataset, model, optimizer, schedule = build_bare(args, data_root)
    g = torch.Generator().manual_seed(0)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=args.batch_size, shuffle=True, generator=g,
        collate_fn=pseudo_collate, num_workers=0)
    items = [dataset[i] for i in range(len(dataset))] \
        if mode != 'pipeline' else None
    collated = None
    if mode == 'collated':
        order = torch.randperm(len(items), generator=g).tolist()
        collated = [model.data_preprocessor(pseudo_collate(
            [items[i] for i in order[s:s + args.batch_size]]), True)
            for s in range(0, len(items), args.batch_size)]

    def epoch_batches() -> List:
        if mode == 'pipeline':
            return loader
        if mode == 'collated':
            return collated
        order = torch.randperm(len(items), generator=g).tolist()
        size = args.batch_size
        return (pseudo_collate([items[i] for i in order[s:s + size]])
                for s in range(0, len(items), size))

    torch.set_num_threads(args.threads)
    start, iters = None, 0
    for epoch in range(args.epochs + 1):
        if epoch == 1:
            start = time.perf_counter()
        for batch in epoch_batches():
            train_step(model, optimizer, batch, preprocess=mode != 'collated')
            iters += epoch >= 1
        schedule.step()
    return dict(seconds=time.perf_counter() - start, iters=iters)


def profile_toolbox(args: argparse.Namespace,
                    data_root: str) -> List[tuple]:
    """cProfile one toolbox run; cumulative seconds per bucket."""
    profiler = cProfile.Profile()
    profiler.enable()
    timed = run_toolbox(args, data_root, run=99)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    rows = []
    for label, belongs in BUCKETS:
        rows.append((label, sum(
            st[3] for (file, _, func), st in stats.items()
            if belongs(f'{osp.basename(file)}:{func}'))))
    total = sum(st[2] for st in stats.values())  # all self time
    return [('whole run under cProfile (incl. set-up)', total)] + rows + [
        ('timed epochs, toolbox loop, under cProfile', timed['seconds'])]


def median_of(runs: List[Dict[str, float]]) -> Dict[str, float]:
    return dict(seconds=statistics.median(r['seconds'] for r in runs),
                iters=runs[0]['iters'], all=[round(r['seconds'], 3)
                                             for r in runs])


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--epochs', type=int, default=10,
                        help='timed epochs (one more is the warm-up)')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--data-root', help='demo data folder (default: '
                        'a temporary one)')
    parser.add_argument('--profile', action='store_true',
                        help='also profile one toolbox run (always done when '
                        'the ratio exceeds 1.15)')
    parser.add_argument('--json', help='also write the results here')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    register_all_modules()
    from mer_toolbox.datasets import ensure_demo_data
    with tempfile.TemporaryDirectory() as tmp:
        data_root = ensure_demo_data(args.data_root or osp.join(tmp, 'demo'))
        loops: Dict[str, Callable[[], Dict[str, float]]] = {
            'toolbox': lambda: run_toolbox(args, data_root, run),
            'bare, same pipeline': lambda: run_bare(args, data_root,
                                                    'pipeline'),
            'bare, preloaded items': lambda: run_bare(args, data_root,
                                                      'preloaded'),
            'bare, pre-collated': lambda: run_bare(args, data_root,
                                                   'collated')}
        runs: Dict[str, list] = {k: [] for k in loops}
        for run in range(args.repeats):  # interleaved: load drifts
            for name, loop in loops.items():
                runs[name].append(loop())
        results = {k: median_of(v) for k, v in runs.items()}
        ratio = (results['toolbox']['seconds'] /
                 results['bare, same pipeline']['seconds'])
        profile = (profile_toolbox(args, data_root)
                   if args.profile or ratio > 1.15 else None)
    report(args, results, ratio, profile)
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(dict(settings=vars(args), results=results, ratio=ratio,
                           profile=profile, torch=torch.__version__,
                           cpu=platform.processor() or platform.machine()),
                      f, indent=1)
    return 0


def report(args: argparse.Namespace, results: dict, ratio: float,
           profile: Optional[List[tuple]]) -> None:
    base = results['bare, same pipeline']['seconds']
    print(f'torch {torch.__version__}, {args.threads} thread(s), batch '
          f'{args.batch_size}, {results["toolbox"]["iters"]} timed iterations '
          f'(median of {args.repeats})\n')
    print('| loop | samples/s | ms / iteration | '
          'time vs bare (same pipeline) |')
    print('|---|---|---|---|')
    for name, r in results.items():
        per_iter = 1e3 * r['seconds'] / r['iters']
        samples = r['iters'] * args.batch_size / r['seconds']
        print(f'| {name} | {samples:.0f} | {per_iter:.2f} | '
              f'{r["seconds"] / base:.3f}x |')
    print(f'\ntoolbox / bare (same pipeline): {ratio:.3f}x '
          f'({"within" if ratio <= 1.15 else "ABOVE"} the 1.15x target)')
    if profile:
        print('\n| cProfile of one toolbox run | cumulative s |')
        print('|---|---|')
        for label, seconds in profile:
            print(f'| {label} | {seconds:.2f} |')


if __name__ == '__main__':
    sys.exit(main())
