"""Extract features from raw clips (video, audio, subtitles) into a feature store.

    python tools/extract_features.py CONFIG [--resume] [--pack] [--device cuda]
        [--dtype float16] [--num-workers N] [--limit N] [--root DIR]
        [--cfg-options k=v ...]
    torchrun --nproc-per-node N tools/extract_features.py CONFIG ...
    tools/dist_extract.sh CONFIG N ...

The config (see ``configs/extraction/``) names the clips, the frame sampling,
the face detector and the feature sets (``ENCODERS`` types: CLIP vision,
HuBERT-style audio, text LMs, timm). Features go to ``output.root`` in the
MERTools layout (one ``.npy`` per clip per folder); ``--pack`` also writes the
packed layout to ``output.pack_root`` (default ``<root>_packed``).

Under torchrun each rank extracts a disjoint share of the clips on its own GPU
(``LOCAL_RANK``; encoders set to ``'cuda'`` or ``'auto'``); rank 0 merges the
logs, writes the summary and packs once everything is written. ``--resume``
works whatever the number of ranks of the interrupted run. ``--num-workers``
(config: ``decode.num_workers``) decodes clips in DataLoader workers.

A bad clip never stops the run: it is logged to ``<root>/failures.jsonl`` with
its reason and counted in ``<root>/summary.json``.

Exit codes: 0 every clip extracted, 1 some clips failed (see failures.jsonl),
2 bad config (nothing extracted), 130 interrupted (rerun with --resume).
"""
import argparse
import logging
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction

logger = logging.getLogger('mer_toolbox.tools.extract_features')
#: how long a rank that finished its share waits for the others
RANK_WAIT_S = 7 * 24 * 3600


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
    parser.add_argument('--num-workers', type=int,
                        help='decode processes per rank (decode.num_workers)')
    parser.add_argument('--root', help="override the config's output.root")
    parser.add_argument('--limit', type=int,
                        help='only the first N clips of the list')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar (e.g. in batch jobs)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    return parser.parse_args(argv)


def start_ranks() -> int:
    """Join torchrun's process group (if launched by it); return the rank.

    The ranks exchange only clip lists and results, so gloo serves even on
    GPU machines; ranks that finish early wait for the others at the end,
    hence the long timeout (a dead rank still ends the job: torchrun stops
    them all).
    """
    if 'LOCAL_RANK' not in os.environ:
        return 0
    import torch

    from mer_toolbox.engine.distributed import init_distributed
    if torch.cuda.is_available():
        # 'cuda' / 'auto' encoders then land on this rank's own GPU
        torch.cuda.set_device(int(os.environ['LOCAL_RANK']))
    init_distributed(backend='gloo', timeout_s=RANK_WAIT_S)
    return int(os.environ['RANK'])


def check_one_gpu_per_rank(extractor) -> None:
    """Several ranks on one machine must not all use a fixed ``cuda:N``."""
    if int(os.environ.get('LOCAL_WORLD_SIZE', '1')) < 2:
        return
    for fset in extractor.sets:
        device = getattr(fset.encoder, 'device', None)
        if getattr(device, 'index', None) is not None:
            raise ValueError(
                f'feature set {fset.name!r}: device {device} is fixed, but '
                f"{os.environ['LOCAL_WORLD_SIZE']} ranks share this machine; "
                "use device='cuda' or 'auto' (each rank takes GPU LOCAL_RANK)")


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format='%(asctime)s %(levelname)s %(message)s')
    from mer_toolbox.media.runner import (build_extraction, format_summary,
                                          run_extraction)
    rank = start_ranks()
    try:
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        if args.num_workers is not None:
            cfg.merge_from_dict({'decode.num_workers': args.num_workers})
        cfg = cfg.to_dict()
        if cfg.get('custom_imports'):
            from mmengine.utils import import_modules_from_strings
            import_modules_from_strings(**cfg['custom_imports'])
        extractor, clips, output = build_extraction(cfg, args.device,
                                                    args.dtype)
        check_one_gpu_per_rank(extractor)
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
    if rank == 0:
        logger.info('%d clips -> %s (%s)%s', len(clips), root,
                    ', '.join(extractor.folders()),
                    ' [resume]' if args.resume else '')
    try:
        summary = run_extraction(extractor, clips, root, resume=args.resume,
                                 pack_root=pack_root,
                                 progress=not args.no_progress,
                                 decode=cfg.get('decode'))
    except KeyboardInterrupt:
        logger.warning('interrupted: finished clips are on disk; rerun with '
                       '--resume')
        return 130
    if rank != 0:
        return summary['exit_code']
    logger.info('summary (%s):\n%s', osp.join(root, 'summary.json'),
                format_summary(summary))
    if summary['failed']:
        logger.warning('%d clip(s) failed: see %s', summary['failed'],
                       osp.join(root, 'failures.jsonl'))
    return summary['exit_code']


def finish_ranks() -> None:
    """Leave torchrun's process group cleanly (no-op without one)."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


if __name__ == '__main__':
    code = main()
    finish_ranks()
    sys.exit(code)
