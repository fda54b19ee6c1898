"""Feature loading: the per-file (npy) layout against the packed layout.

Writes ``--clips`` synthetic clips with the MER2024 dims (video 768, audio
1024, text 4096; float32 N(0, 1); 23.0 KiB per clip) in both layouts, then
times, with a warm page cache (one untimed pass first):

* ``MERFeatureDataset.__getitem__`` over every clip, in order and shuffled
  (what a training epoch does: read, validate, tensors, ``EmotionSample``);
* ``MERFeatureDataset.load_rows`` in blocks of ``--block`` clips (the bulk
  path pseudo-labelling uses; one memory-map slice per modality when packed);
* floors: the memory bandwidth turned into clips/s (reading each byte once:
  a sum over a large array; copying it once: ``np.copyto``), and a bare
  ``np.load`` of each ``.npy`` file (what the per-file layout costs before
  any toolbox code runs);
* the parts of one packed ``__getitem__`` timed alone.

    python benchmarks/feature_loading.py [--clips 5000] [--block 2048]
        [--root DIR] [--json OUT]
"""
import argparse
import json
import os
import os.path as osp
import platform
import shutil
import sys
import tempfile
import time
from typing import Callable, Dict, Iterator, List

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from mer_toolbox.constants import MER2024_CLASSES  # noqa: E402
from mer_toolbox.datasets import MERFeatureDataset  # noqa: E402
from mer_toolbox.fileio.feature_store import (  # noqa: E402
    write_packed_store_streaming)

DIMS = dict(video=768, audio=1024, text=4096)
CLIP_BYTES = 4 * sum(DIMS.values())
LAYOUTS = dict(npy='{m}-UTT', packed='{m}-UTT-packed')


def write_stores(root: str, clips: int, chunk: int = 1000) -> None:
    """Both layouts of the same seeded features, plus ``labels.csv``."""
    names = [f'sample_{i:05d}' for i in range(clips)]
    for k, (m, dim) in enumerate(DIMS.items()):
        rng = np.random.default_rng(k)
        npy = osp.join(root, LAYOUTS['npy'].format(m=m))
        os.makedirs(npy, exist_ok=True)

        def chunks() -> Iterator[np.ndarray]:
            for start in range(0, clips, chunk):
                block = rng.standard_normal(
                    (min(chunk, clips - start), dim), dtype=np.float32)
                for i, row in enumerate(block):
                    np.save(osp.join(npy, f'{names[start + i]}.npy'), row)
                yield block
        write_packed_store_streaming(
            osp.join(root, LAYOUTS['packed'].format(m=m)), names, dim,
            chunks())
    with open(osp.join(root, 'labels.csv'), 'w', encoding='utf-8') as f:
        f.write('name,discrete\n' + ''.join(
            f'{n},{MER2024_CLASSES[i % 6]}\n' for i, n in enumerate(names)))


def dataset(root: str, layout: str) -> MERFeatureDataset:
    return MERFeatureDataset(
        ann_file='labels.csv', data_root=root, feature_dims=dict(DIMS),
        data_prefix={m: LAYOUTS[layout].format(m=m) for m in DIMS})


def rate(step: Callable[[], int], repeats: int) -> float:
    """Best clips/s over ``repeats`` calls of ``step`` (returns clips)."""
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        count = step()
        best = max(best, count / (time.perf_counter() - start))
    return best


def getitem_pass(ds: MERFeatureDataset, order: List[int]) -> Callable[[], int]:
    def step() -> int:
        for i in order:
            ds[i]
        return len(order)
    return step


def load_rows_pass(ds: MERFeatureDataset, block: int) -> Callable[[], int]:
    def step() -> int:
        for start in range(0, len(ds), block):
            ds.load_rows(start, min(start + block, len(ds)))
        return len(ds)
    return step


def bare_npy_pass(root: str, names: List[str]) -> Callable[[], int]:
    paths = [[osp.join(root, LAYOUTS['npy'].format(m=m), f'{n}.npy')
              for m in DIMS] for n in names]

    def step() -> int:
        for clip in paths:
            for path in clip:
                np.load(path)
        return len(paths)
    return step


def bandwidth(copy: bool, megabytes: int = 256) -> float:
    """Bytes/s of reading (a sum) or copying (``np.copyto``) a large array."""
    src = np.ones(megabytes << 18, np.float32)  # megabytes MiB
    dst = np.empty_like(src) if copy else None
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        np.copyto(dst, src) if copy else np.add.reduce(src)
        best = max(best, src.nbytes / (time.perf_counter() - start))
    return best


def parts_of_getitem(ds: MERFeatureDataset, order: List[int]
                     ) -> Dict[str, Callable[[], int]]:
    """The steps of one packed ``__getitem__``, each timed alone."""
    infos = [ds.get_data_info(i) for i in order]
    stores = list(ds.stores().values())

    def info() -> int:
        for i in order:
            ds.get_data_info(i)
        return len(order)

    def loads() -> int:
        for record in infos:
            for store in stores:
                store.load(record['name'])
        return len(order)

    def features() -> int:
        for record in infos:
            ds.load_features(record['name'], record['modality_present'])
        return len(order)
    return {'part: get_data_info (record unpickling)': info,
            'part: 3 x PackedFeatureStore.load (memmap row copies)': loads,
            'part: load_features (loads + checks + tensors)': features}


def measure(root: str, args: argparse.Namespace) -> Dict[str, float]:
    npy, packed = dataset(root, 'npy'), dataset(root, 'packed')
    order = list(range(len(npy)))
    shuffled = list(np.random.default_rng(0).permutation(len(npy)))
    names = [npy.get_data_info(i)['name'] for i in order]
    for ds in (npy, packed):  # warm: page cache, name caches, imports
        getitem_pass(ds, order)()
        ds.load_rows(0, min(args.block, len(ds)))
    r = args.repeats
    out = {
        'getitem npy, in order': rate(getitem_pass(npy, order), r),
        'getitem npy, shuffled': rate(getitem_pass(npy, shuffled), r),
        'getitem packed, in order': rate(getitem_pass(packed, order), r),
        'getitem packed, shuffled': rate(getitem_pass(packed, shuffled), r),
        f'load_rows npy, {args.block}-clip blocks':
            rate(load_rows_pass(npy, args.block), r),
        f'load_rows packed, {args.block}-clip blocks':
            rate(load_rows_pass(packed, args.block), r),
        'floor: bare np.load of the 3 files': rate(bare_npy_pass(root, names),
                                                   r),
        'floor: copy each byte once (np.copyto)':
            bandwidth(copy=True) / CLIP_BYTES,
        'floor: read each byte once (memory bandwidth)':
            bandwidth(copy=False) / CLIP_BYTES,
    }
    for name, step in parts_of_getitem(packed, shuffled).items():
        out[name] = rate(step, r)
    return out


def report(args: argparse.Namespace, results: Dict[str, float]) -> None:
    floor = results['floor: read each byte once (memory bandwidth)']
    print(f'{args.clips} clips, dims {DIMS}, {CLIP_BYTES / 1024:.1f} KiB per '
          f'clip, warm page cache, best of {args.repeats}\n')
    print('| path | clips/s | us / clip | MB/s | of the read floor |')
    print('|---|---|---|---|---|')
    for name, value in results.items():
        print(f'| {name} | {value:,.0f} | {1e6 / value:.1f} | '
              f'{value * CLIP_BYTES / 1e6:,.0f} | '
              f'{100 * value / floor:.2f} % |')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--clips', type=int, default=5000)
    parser.add_argument('--block', type=int, default=2048)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--root', help='where to write the stores (default: '
                        'a temporary folder, removed afterwards)')
    parser.add_argument('--json', help='also write the results here')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    root = args.root or tempfile.mkdtemp(prefix='mer_feature_loading_')
    try:
        labels = osp.join(root, 'labels.csv')
        if not osp.isfile(labels) or sum(1 for _ in open(labels)) != \
                args.clips + 1:
            start = time.perf_counter()
            write_stores(root, args.clips)
            print(f'wrote both layouts in {time.perf_counter() - start:.1f} s')
        results = measure(root, args)
    finally:
        if args.root is None:
            shutil.rmtree(root, ignore_errors=True)
    report(args, results)
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(dict(settings=vars(args), clip_bytes=CLIP_BYTES,
                           clips_per_second=results,
                           cpu=platform.processor() or platform.machine()),
                      f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
