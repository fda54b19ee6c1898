"""Evaluate a checkpoint and write predictions in the MER submission shape.

    python tools/test.py CONFIG CHECKPOINT [--out predictions.csv]
    python tools/test.py configs/bdcl_stage1.py best     # the run's best.pth

CHECKPOINT is a ``.pth`` file or URL, a work dir (its best checkpoint), or
``best`` / ``last``: that checkpoint of the config's work dir.

Prints the metric table; writes ``test_metrics.json`` in its own folder,
``<config work dir>/test/`` (``--work-dir DIR``: in ``DIR``), so the metrics
training wrote next to its checkpoints stay as they are; with ``--out``, a
CSV ``name,discrete,<class scores...>``.
"""
import argparse
import os.path as osp

from mmengine.config import DictAction


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a mer_toolbox model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file or URL, a work '
                        "dir, or 'best' / 'last' of the config's work dir")
    parser.add_argument('--work-dir', help='where logs and metrics go '
                        '(default: <config work dir>/test)')
    parser.add_argument('--out', help='predictions CSV (MER submission shape)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load the checkpoint with full pickle (only for '
                        'files you produced; see docs/checkpoints.md)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    parser.add_argument('--launcher', choices=['none', 'pytorch'],
                        default='none')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from mer_toolbox.engine.setup_env import (load_config,
                                             register_all_modules,
                                             setup_launcher)
    register_all_modules()
    from mer_toolbox.engine import build_runner
    from mer_toolbox.engine.reports import dump_test_reports
    from mer_toolbox.engine.stage_checkpoint import \
        resolve_checkpoint_argument
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
    # a URL is fetched and loaded by the same safe loader as a file
    checkpoint = resolve_checkpoint_argument(
        args.checkpoint, cfg.work_dir,
        hint='Train first (tools/train.py CONFIG) or pass a .pth file.')
    if args.work_dir is None:
        # its own folder: training's test_metrics.json stays untouched
        cfg.work_dir = osp.join(cfg.work_dir, 'test')
    cfg.load_from, cfg.resume = None, False
    setup_launcher(args.launcher)
    runner = build_runner(cfg, args.trust_checkpoint)
    # strict: a checkpoint that does not fit the model is an error, not a
    # warning followed by a test of half-random weights.
    runner.logger.info(f'testing {checkpoint}')
    runner.load_checkpoint(checkpoint, map_location='cpu', strict=True)
    metrics = runner.test()
    dump_test_reports(runner, args.out)
    return metrics


if __name__ == '__main__':
    main()
