"""Pack npy-layout feature folders into the packed (memory-mapped) layout.

    python tools/pack_features.py SRC_ROOT DST_ROOT [--folders A-UTT B-FRA]
        [--names clips.csv]

Every sub-folder of ``SRC_ROOT`` holding ``.npy`` files (or only
``--folders``) is packed into ``DST_ROOT/<folder>``. ``--names`` (a CSV with a
``name`` column) restricts and orders the clips; by default all clips of a
folder are packed, sorted. Exit codes: 0 done, 1 a folder could not be packed.
"""
import argparse
import csv
import logging
import os
import os.path as osp
import sys

from mer_toolbox.fileio.feature_store import pack_npy_store

logger = logging.getLogger('mer_toolbox.tools.pack_features')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='root holding <feature-set>/<clip>.npy')
    parser.add_argument('dst', help='root for the packed feature sets')
    parser.add_argument('--folders', nargs='+', help='only these feature sets')
    parser.add_argument('--names', help='CSV with a `name` column')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')
    folders = args.folders or sorted(
        e.name for e in os.scandir(args.src) if e.is_dir() and
        any(f.endswith('.npy') for f in os.listdir(e.path)))
    names = None
    if args.names:
        with open(args.names, encoding='utf-8-sig', newline='') as f:
            names = [row['name'].strip() for row in csv.DictReader(f)]
    status = 0
    for folder in folders:
        try:
            count = pack_npy_store(osp.join(args.src, folder),
                                   osp.join(args.dst, folder), names)
            logger.info('%s: %d clips packed', folder, count)
        except (OSError, ValueError) as err:
            logger.error('%s: %s', folder, err)
            status = 1
    return status


if __name__ == '__main__':
    sys.exit(main())
