"""Write a feature folder (the "your own features" layout) from arrays.

    python tools/dataset_converters/from_arrays.py ARRAYS OUT_DIR
        [--layout npy|packed] [--classes neutral happy ...]
        [--label-key classification_labels]

``ARRAYS`` is an ``.npz`` of ``<split>__<modality>`` / ``<split>__y`` arrays
or an MMSA-style pickle (see :mod:`mer_toolbox.datasets.array_converter`).
``OUT_DIR`` then trains with
``DATA_ROOT=OUT_DIR python tools/train.py configs/feature_folder/bdcl_stage1.py``.
Pickles can run code when opened: convert only files you trust.
"""
import argparse
import os.path as osp

from mer_toolbox.datasets.array_converter import (
    load_arrays, write_feature_folder)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('arrays', help='.npz or MMSA-style .pkl file')
    parser.add_argument('out', help='feature folder to write')
    parser.add_argument('--layout', choices=['npy', 'packed'], default='npy',
                        help='npy: one file per clip (MERTools); packed: one '
                        'memory-mapped array per modality (faster)')
    parser.add_argument('--classes', nargs='+', help='class names in label '
                        'order (default: the file\'s, else 0..C-1)')
    parser.add_argument('--label-key', default='classification_labels',
                        help='label array of an MMSA pickle')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if not osp.isfile(args.arrays):
        raise SystemExit(f'error: {args.arrays} does not exist')
    data = load_arrays(args.arrays, args.label_key, args.classes)
    counts = write_feature_folder(args.out, data['splits'], data['classes'],
                                  args.layout)
    modalities = sorted({m for p in data['splits'].values()
                         for m in p['features']})
    print(f'wrote {args.out}: classes {data["classes"]}, modalities '
          f'{modalities}, clips {counts} ({args.layout} layout)')
    return counts


if __name__ == '__main__':
    main()
