"""Train a model from a config, then score its best checkpoint on the test
split (metric table printed, ``<work_dir>/test_metrics.json``; ``--no-test``
skips that).

    python tools/train.py configs/bdcl_stage1.py [--work-dir DIR] [--resume]
    tools/dist_train.sh configs/bdcl_stage1.py 8        # torchrun, 8 processes
    python tools/train.py configs/bdcl_stage1.py --seeds 0 1 2   # mean ± std

With ``--seeds`` each seed is a run in ``<work_dir>/seed_<s>`` and the mean ±
std table is printed and written to ``<work_dir>/seeds_summary.{md,csv}``.
"""
import argparse
import copy
import os.path as osp

from mmengine.config import DictAction


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a mer_toolbox model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from CHECKPOINT, or from the latest one '
                        'in the work dir when no path is given')
    parser.add_argument('--amp', action='store_true',
                        help='mixed-precision training (CUDA only)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load checkpoints with full pickle (only for '
                        'files you produced; see docs/checkpoints.md)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. '
                        'train_cfg.max_epochs=5 model.contrastive_dim=64')
    parser.add_argument('--no-test', action='store_true',
                        help='skip evaluating the best checkpoint on the '
                        'test split after training')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help='one run per seed in <work-dir>/seed_<s>, then '
                        'a mean ± std table over them')
    parser.add_argument('--launcher', choices=['none', 'pytorch'],
                        default='none', help='job launcher (pytorch = '
                        'torchrun)')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if not args.seeds:
        return train(args)
    from mmengine.dist import is_main_process

    from mer_toolbox.experiments.seeds import summarize_seed_runs
    root = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    work_dirs = []
    for seed in args.seeds:
        run = copy.copy(args)
        run.work_dir = osp.join(root, f'seed_{seed}')
        run.cfg_options = dict(args.cfg_options or {}, **{
            'randomness.seed': seed})
        train(run)
        work_dirs.append(run.work_dir)
    if is_main_process():
        print(summarize_seed_runs(work_dirs, root), flush=True)


def train(args: argparse.Namespace) -> None:
    """One training run (and its test) as the arguments describe."""
    from mer_toolbox.engine.setup_env import (enable_amp, load_config,
                                             register_all_modules,
                                             setup_launcher)
    register_all_modules()
    from mer_toolbox.engine import build_runner
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
    if args.amp:
        enable_amp(cfg)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    setup_launcher(args.launcher)
    runner = build_runner(cfg, args.trust_checkpoint)
    runner.train()
    if not args.no_test:
        # the result a user came for: the best checkpoint (by validation)
        # scored once on the test split, with the full metric table
        from mer_toolbox.engine.reports import test_best_checkpoint
        test_best_checkpoint(runner)


if __name__ == '__main__':
    main()
