"""Extract features from raw clips (video, audio, subtitles) into a feature store.

    python tools/extract_features.py CONFIG [--resume] [--pack] [--device cuda]
        [--dtype float16] [--limit N] [--root DIR] [--cfg-options k=v ...]

The config (see ``configs/extraction/``) names the clips, the frame sampling,
the face detector and the feature sets (``ENCODERS`` types: CLIP vision,
HuBERT-style audio, text LMs, timm). Features go to ``output.root`` in the
MERTools layout (one ``.npy`` per clip per folder); ``--pack`` also writes the
packed layout to ``output.pack_root`` (default ``<root>_packed``).

A bad clip never stops the run: it is logged to ``<root>/failures.jsonl`` with
its reason and counted in ``<root>/summary.json``.

Exit codes: 0 every clip extracted, 1 some clips failed (see failures.jsonl),
2 bad config (nothing extracted), 130 interrupted (rerun with --resume).
"""
import argparse
import logging
import os.path as osp
import sys

from mmengine.config import Config, DictAction

logger = logging.getLogger('mer_toolbox.tools.extract_features')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='extraction config file')
    parser.add_argument('--resume', action='store_true',
                        help='skip clips whose feature files are all complete')
    parser.add_argument('--pack', action='store_true',
                        help='also write the packed (memory-mapped) layout')
    parser.add_argument('--device', help="override every encoder's device "
                        "('cpu', 'cuda', 'cuda:1', 'auto')")
    parser.add_argument('--dtype', choices=('float32', 'float16', 'bfloat16',
                                            'auto'),
                        help="override every encoder's dtype")
    parser.add_argument('--root', help="override the config's output.root")
    parser.add_argument('--limit', type=int,
                        help='only the first N clips of the list')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar (e.g. in batch jobs)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format='%(asctime)s %(levelname)s %(message)s')
    from mer_toolbox.media.runner import (build_extraction, format_summary,
                                          run_extraction)
    try:
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        cfg = cfg.to_dict()
        if cfg.get('custom_imports'):
            from mmengine.utils import import_modules_from_strings
            import_modules_from_strings(**cfg['custom_imports'])
        extractor, clips, output = build_extraction(cfg, args.device,
                                                    args.dtype)
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # noqa: BLE001 any config problem is exit 2
        logger.error('bad config %s: %s: %s', args.config,
                     type(err).__name__, err)
        return 2
    if args.limit is not None:
        clips = clips[:args.limit]
    root = args.root or output['root']
    pack_root = None
    if args.pack:
        pack_root = output.get('pack_root') or root.rstrip('/') + '_packed'
    logger.info('%d clips -> %s (%s)%s', len(clips), root,
                ', '.join(extractor.folders()),
                ' [resume]' if args.resume else '')
    try:
        summary = run_extraction(extractor, clips, root, resume=args.resume,
                                 pack_root=pack_root,
                                 progress=not args.no_progress)
    except KeyboardInterrupt:
        logger.warning('interrupted: finished clips are on disk; rerun with '
                       '--resume')
        return 130
    logger.info('summary (%s):\n%s', osp.join(root, 'summary.json'),
                format_summary(summary))
    if summary['failed']:
        logger.warning('%d clip(s) failed: see %s', summary['failed'],
                       osp.join(root, 'failures.jsonl'))
    return summary['exit_code']


if __name__ == '__main__':
    sys.exit(main())
