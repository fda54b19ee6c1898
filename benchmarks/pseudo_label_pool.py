"""One pseudo-labelling round over a MER2024-sized unlabelled pool.

Writes a synthetic pool (115,595 clips; video 768, audio 1024, text 4096
float32 N(0, 1) values, packed layout) once into ``--root``, then times what
``PseudoLabelHook`` does per round, in a fresh child process: score the pool
with ``score_dataset`` (the hook's scoring core) over a
``MERFeatureDataset(labelled=False)``, ``select_pseudo_labels`` with the
hook's settings from the config, and the side-table update.

The floor of a round is bytes read / bandwidth + FLOPs / matmul rate, where
the bandwidth is a numpy copy of a large array (warm page cache) or a cold
sequential read of the pool files (``--cold``), and the matmul rate is
measured with ``torch.nn.functional.linear`` at exactly the model's shapes
and batch size, right before the round (the machine may be shared).

    python benchmarks/pseudo_label_pool.py [--root DIR] [--keep] [--cold]
        [--no-fold]
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from mer_toolbox.datasets import (MERFeatureDataset,  # noqa: E402
                                  PseudoLabelTable)
from mer_toolbox.fileio.feature_store import \
    write_packed_store_streaming  # noqa: E402
from mer_toolbox.engine.hooks.pool_scoring import \
    score_dataset  # noqa: E402
from mer_toolbox.engine.hooks.pseudo_label_selection import \
    select_pseudo_labels  # noqa: E402
from mer_toolbox.registry import MODELS  # noqa: E402

DIMS = dict(video=768, audio=1024, text=4096)
FOLDERS = dict(video='clip-vit-large-patch14-UTT',
               audio='chinese-hubert-large-UTT', text='bloom-7b1-UTT')
POOL_CSV = 'unlabelled.csv'
GB, GIB = 1e9, float(1 << 30)


# ------------------------------------------------------------------ the pool
def pool_ready(root: str, clips: int) -> bool:
    """Whether ``root`` already holds a pool of ``clips`` clips."""
    for m, folder in FOLDERS.items():
        meta = osp.join(root, folder, 'packed.json')
        if not osp.isfile(meta):
            return False
        with open(meta, encoding='utf-8') as f:
            info = json.load(f)
        if (info['count'], info['dim']) != (clips, DIMS[m]):
            return False
    return osp.isfile(osp.join(root, POOL_CSV))


def write_pool(root: str, clips: int, chunk: int = 8192) -> None:
    """Seeded N(0, 1) float32 features, one chunk in memory at a time."""
    names = [f'pool_{i:06d}' for i in range(clips)]
    for k, (m, dim) in enumerate(DIMS.items()):
        rng = np.random.default_rng(k)
        chunks = (rng.standard_normal((min(chunk, clips - lo), dim),
                                      dtype=np.float32)
                  for lo in range(0, clips, chunk))
        write_packed_store_streaming(osp.join(root, FOLDERS[m]), names, dim,
                                     chunks)
    with open(osp.join(root, POOL_CSV), 'w', encoding='utf-8') as f:
        f.write('name\n' + '\n'.join(names) + '\n')


def data_files(root: str) -> list:
    return [osp.join(root, f, 'data.npy') for f in FOLDERS.values()]


def read_through(paths: list, block: int = 64 << 20) -> None:
    """Read ``paths`` once, so that they sit in the page cache."""
    buf = bytearray(block)
    for path in paths:
        with open(path, 'rb', buffering=0) as f:
            while f.readinto(buf):
                pass


def evict(paths: list) -> None:
    """Drop ``paths`` from the page cache (only pages no process maps)."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def cached_bytes(paths: list) -> float:
    """Bytes of ``paths`` in the page cache (``fincore``), NaN if unknown."""
    if not shutil.which('fincore'):
        return float('nan')
    out = subprocess.run(['fincore', '-b', '-n', '-o', 'RES'] + paths,
                         capture_output=True, text=True).stdout
    return float(sum(int(x) for x in out.split()))


# ------------------------------------------------------------- measurements
class PeakMemory:
    """Peak anonymous / file-backed RSS, sampled from ``/proc/self/status``.

    The pool is memory-mapped, so pages read count in RSS as *file* pages
    (page cache, reclaimable); the anonymous peak is what the process holds.
    """

    def __init__(self, interval: float = 0.01) -> None:
        self.interval, self.peak = interval, dict(RssAnon=0, RssFile=0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def read() -> dict:
        with open('/proc/self/status', encoding='ascii') as f:
            rows = dict(line.split(':', 1) for line in f)
        return {k: int(rows[k].split()[0]) * 1024
                for k in ('RssAnon', 'RssFile', 'VmHWM')}

    def _run(self) -> None:
        while not self._stop.is_set():
            now = self.read()
            for k in self.peak:
                self.peak[k] = max(self.peak[k], now[k])
            time.sleep(self.interval)

    def __enter__(self) -> 'PeakMemory':
        try:  # reset VmHWM to the current RSS (Linux >= 4.0)
            with open('/proc/self/clear_refs', 'w', encoding='ascii') as f:
                f.write('5')
        except OSError:
            pass
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak['VmHWM'] = self.read()['VmHWM']


def load_recipe(config: str):
    """The stage-1 model (input norms fitted to mean 0 / std 1) and the
    ``PseudoLabelHook`` settings of ``config``."""
    cfg = Config.fromfile(osp.join(REPO, config))
    model = MODELS.build(cfg.model)
    model.fit_input_norms({m: (np.zeros(d, np.float32), np.ones(d, np.float32))
                           for m, d in cfg.model.feature_dims.items()})
    hook = next(h for h in cfg.custom_hooks if h['type'] == 'PseudoLabelHook')
    return model.eval(), hook


def linear_shapes(model) -> list:
    """``(in, out)`` of every Linear on the logits path (one clip each)."""
    return [(mod.in_features, mod.out_features)
            for part in (model.encoders, model.neck, model.head)
            for mod in part.modules() if isinstance(mod, torch.nn.Linear)]


class Clock:
    """Wall and process CPU seconds of a block (``with Clock() as c``).

    CPU time is the steadier figure on a shared machine: it leaves out the
    time this process waited for a core.
    """

    def __enter__(self) -> 'Clock':
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def matmul_floor(shapes: list, clips: int, batch: int) -> Clock:
    """Only the model's GEMMs: ``linear(x (n, in), W (out, in))`` for every
    Linear in ``shapes``, over ``clips`` clips in batches of ``batch``."""
    xs = [(torch.randn(batch, i), torch.randn(o, i), torch.randn(o))
          for i, o in shapes]
    with Clock() as clock:
        for lo in range(0, clips, batch):
            n = min(batch, clips - lo)
            for x, w, b in xs:
                torch.nn.functional.linear(x[:n], w, b)
    return clock


def copy_floor(nbytes: int, block: int = 256 << 20) -> Clock:
    """A numpy copy of ``nbytes`` (through a ``block``-byte float32 array,
    far larger than the caches), i.e. reading them once at memory speed."""
    src = np.ones(block // 4, np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in before timing
    with Clock() as clock:
        for lo in range(0, nbytes // 4, block // 4):
            n = min(block // 4, nbytes // 4 - lo)
            np.copyto(dst[:n], src[:n])
    return clock


def disk_bandwidth(paths: list) -> float:
    """Bytes per second of a cold sequential read of ``paths``."""
    evict(paths)
    t = time.perf_counter()
    read_through(paths)
    return sum(map(osp.getsize, paths)) / (time.perf_counter() - t)


# ------------------------------------------------------------ child process
def one_round(model, pool, table, hook: dict, batch_size: int,
              fold: bool = True) -> dict:
    """What ``PseudoLabelHook.after_train_epoch`` does (one process)."""
    keys = ('threshold', 'max_per_class', 'class_balanced_ratio', 'weighting')
    t0 = time.perf_counter()
    scores = score_dataset(model, pool, batch_size, bulk=True,
                           fold_norms=fold)  # (N, C)
    t1 = time.perf_counter()
    sel = select_pseudo_labels(scores, **{k: hook[k] for k in keys
                                          if k in hook})
    table.update(sel['labels'], sel['weights'], sel['confidence'])
    t2 = time.perf_counter()
    return dict(score_s=t1 - t0, select_s=t2 - t1, total_s=t2 - t0,
                selected=int((sel['labels'] >= 0).sum()))


def floors(shapes: list, clips: int, batch: int, nbytes: int) -> dict:
    """Wall / CPU seconds of the GEMMs alone and of copying ``nbytes``."""
    mm, cp = matmul_floor(shapes, clips, batch), copy_floor(nbytes)
    return dict(mm_wall=mm.wall, mm_cpu=mm.cpu, copy_wall=cp.wall,
                copy_cpu=cp.cpu)


def child(args) -> dict:
    """Set up like a training run, then time ``--rounds`` rounds, each
    between two floor measurements (the machine's load may drift)."""
    torch.set_num_threads(args.threads)
    model, hook = load_recipe(args.config)
    batch = args.batch_size or hook.get('batch_size', 2048)
    shapes, files = linear_shapes(model), data_files(args.root)
    t = time.perf_counter()
    pool = MERFeatureDataset(
        ann_file=POOL_CSV, data_root=args.root, data_prefix=FOLDERS,
        feature_dims=DIMS, labelled=False, layout='packed')
    table = PseudoLabelTable([pool.get_data_info(i)['name']
                              for i in range(len(pool))])
    nbytes = sum(map(osp.getsize, files))
    out = dict(setup_s=time.perf_counter() - t, batch_size=batch, rounds=[],
               bytes=nbytes,
               flops=2 * len(pool) * sum(i * o for i, o in shapes))
    before = floors(shapes, len(pool), batch, nbytes)
    for r in range(args.rounds):
        cold = args.cold and r == 0
        if cold:
            evict(files)
        else:
            read_through(files)
        stats = dict(cold=cold, cached=cached_bytes(files),
                     anon_before=PeakMemory.read()['RssAnon'])
        with PeakMemory() as mem, Clock() as clock:
            stats.update(one_round(model, pool, table, hook, batch,
                                   not args.no_fold))
        after = floors(shapes, len(pool), batch, nbytes)
        stats.update({k: (before[k] + after[k]) / 2 for k in before})
        out['rounds'].append(dict(stats, wall_s=clock.wall, cpu_s=clock.cpu,
                                  **mem.peak))
        before = after
    if args.breakdown:  # the two halves of a (warm) round, apart
        t = time.perf_counter()
        for lo in range(0, len(pool), batch):
            pool.load_rows(lo, min(lo + batch, len(pool)))
        out['load_rows_s'] = time.perf_counter() - t
        x = {m: torch.randn(batch, d) for m, d in DIMS.items()}
        for key, net in (('forward_s', model),
                         ('forward_folded_s', model.folded_input_norms())):
            t = time.perf_counter()
            with torch.no_grad():
                for lo in range(0, len(pool), batch):
                    n = min(batch, len(pool) - lo)
                    net({m: v[:n] for m, v in x.items()}, None, mode='tensor')
            out[key] = time.perf_counter() - t
    return out


# --------------------------------------------------------------------- main
def report(args, res: dict, disk_bw: float) -> None:
    print(f'\npool {args.clips} clips, {res["bytes"] / GB:.2f} GB read per '
          f'round, {res["flops"] / 1e9:.0f} GFLOP; batch '
          f'{res["batch_size"]}, {args.threads} torch threads; setup '
          f'(dataset + side table) {res["setup_s"]:.1f} s; cold disk read '
          f'{disk_bw / GB:.2f} GB/s')
    print('\n| round | page cache | wall (s) | CPU (s) | select + table (s) '
          '| copy (GB/s) | GEMMs (GFLOP/s) | floor wall (s) | x floor wall '
          '| floor CPU (s) | x floor CPU | anon RSS before -> peak (GiB) '
          '| peak RSS incl. mapped pool (GiB) |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for i, r in enumerate(res['rounds']):
        read = res['bytes'] / disk_bw if r['cold'] else r['copy_wall']
        floor_wall = read + r['mm_wall']
        floor_cpu = r['copy_cpu'] + r['mm_cpu']
        cache = (f'cold ({r["cached"] / GB:.2f} GB cached)' if r['cold']
                 else 'warm')
        cpu_ratio = 'n/a' if r['cold'] else f'{r["cpu_s"] / floor_cpu:.2f}'
        print(f'| {i + 1} | {cache} | {r["wall_s"]:.1f} | {r["cpu_s"]:.1f} '
              f'| {r["select_s"]:.2f} | {res["bytes"] / r["copy_wall"] / GB:.1f}'
              f' | {res["flops"] / r["mm_wall"] / 1e9:.1f} | {floor_wall:.1f} '
              f'| {r["wall_s"] / floor_wall:.2f} | {floor_cpu:.1f} | '
              f'{cpu_ratio} | {r["anon_before"] / GIB:.2f} -> '
              f'{r["RssAnon"] / GIB:.2f} | '
              f'{r["VmHWM"] / GIB:.2f} |')
    if 'load_rows_s' in res:
        print(f'\nwarm breakdown (wall): load_rows over the pool '
              f'{res["load_rows_s"]:.2f} s, model forward on random input '
              f'{res["forward_s"]:.2f} s (standardisation folded into the '
              f'first Linear: {res["forward_folded_s"]:.2f} s)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', help='pool cache folder (default: temp)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the pool files at the end')
    parser.add_argument('--clips', type=int, default=115_595)
    parser.add_argument('--config',
                        default='configs/mer2024/bdcl_stage1_mer2024.py')
    parser.add_argument('--batch-size', type=int, default=None,
                        help="default: the config's PseudoLabelHook's")
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--cold', action='store_true',
                        help='evict the pool from the page cache before '
                        'round 1')
    parser.add_argument('--breakdown', action='store_true')
    parser.add_argument('--no-fold', action='store_true',
                        help='score without folding the input '
                        'standardisation into the first Linear')
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    made_root = args.root is None
    args.root = args.root or tempfile.mkdtemp(prefix='mer_pool_bench_')
    try:
        if not pool_ready(args.root, args.clips):
            t = time.perf_counter()
            write_pool(args.root, args.clips)
            print(f'wrote the pool in {time.perf_counter() - t:.1f} s')
        disk_bw = disk_bandwidth(data_files(args.root))
        cmd = [sys.executable, __file__, '--child'] + [
            a for a in sys.argv[1:] if a != '--keep']
        if made_root:
            cmd += ['--root', args.root]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f'benchmark child failed:\n{proc.stderr[-4000:]}')
        report(args, json.loads(proc.stdout.strip().splitlines()[-1]),
               disk_bw)
    finally:
        if not args.keep:
            for folder in FOLDERS.values():
                shutil.rmtree(osp.join(args.root, folder), ignore_errors=True)
            if osp.exists(osp.join(args.root, POOL_CSV)):
                os.remove(osp.join(args.root, POOL_CSV))
            if made_root:
                shutil.rmtree(args.root, ignore_errors=True)


if __name__ == '__main__':
    main()
