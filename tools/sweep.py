"""Hyper-parameter search with Optuna over the config's ``search_space``.

    python tools/sweep.py CONFIG --trials 50 --study-dir W [--workers 4]
    python tools/sweep.py CONFIG --trials 50 --study-dir W --cv 5   # CV mean
    # workers on several machines share one study through an RDB:
    python tools/sweep.py CONFIG --trials 200 --study-dir W \\
        --storage postgresql://user:pass@host/db --study-name mer_lr

TPE sampler, median pruner on the per-epoch validation metric (``--metric``).
Each trial is an ordinary training run in ``W/trial_<n>``. The study lives in
``W/study.db`` (SQLite; ``--storage`` for any Optuna RDB URL), so rerunning
the command resumes it and only the missing trials run; ``--workers P``
starts P processes on the same study. When the workers are done:
``W/best_config.py`` (ready to train), ``W/summary.json``, ``W/trials.csv``
and Optuna's ``optimization_history.png`` / ``param_importances.png``.
"""
import argparse
import os.path as osp
import subprocess
import sys

from mmengine.config import DictAction


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Optuna search over the '
                                     "config's search_space")
    parser.add_argument('config', help='config with a search_space dict')
    parser.add_argument('--trials', type=int, required=True,
                        help='finished (complete or pruned) trials the study '
                        'should hold; a rerun adds only the missing ones')
    parser.add_argument('--study-dir', required=True,
                        help='trial work dirs, study.db and the summary')
    parser.add_argument('--workers', type=int, default=1,
                        help='worker processes on this machine (default 1)')
    parser.add_argument('--storage', help='Optuna storage URL shared by '
                        'workers on several machines (default: SQLite in '
                        '--study-dir)')
    parser.add_argument('--study-name', help='default: the config name')
    parser.add_argument('--metric', default='emotion/waf',
                        help='validation key to optimise')
    parser.add_argument('--direction', default='maximize',
                        choices=['maximize', 'minimize'])
    parser.add_argument('--cv', type=int, metavar='K',
                        help='objective = mean held-out score of a K-fold '
                        'cross-validation (tools/cross_validate.py)')
    parser.add_argument('--no-prune', action='store_true',
                        help='never stop a trial early')
    parser.add_argument('--prune-startup-trials', type=int, default=5,
                        help='trials before the median pruner acts')
    parser.add_argument('--prune-warmup-epochs', type=int, default=0,
                        help='epochs of a trial before it may be pruned')
    parser.add_argument('--seed', type=int,
                        help='TPE sampler seed (worker i uses seed + i)')
    parser.add_argument('--worker-index', type=int, default=0,
                        help=argparse.SUPPRESS)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys for every trial')
    return parser.parse_args(argv)


def _worker_argv(argv, index: int) -> list:
    """This command for one worker: ``--workers 1 --worker-index i``."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == '--workers':
            skip = True
        elif not arg.startswith('--workers='):
            out.append(arg)
    return out + ['--workers', '1', '--worker-index', str(index)]


def _cv_objective(args):
    """Trials that are cross-validations (members via tools/train.py)."""
    from mer_toolbox.experiments import CrossValidation
    from mer_toolbox.visualization.results import summarize_run
    from train_two_stage import run_stage  # sibling script (tools/ is on
    # sys.path when a tool runs as a script)

    def objective(cfg, work_dir, trial):
        import numpy as np
        cv = CrossValidation(cfg, work_dir, args.cv)
        cv.prepare()
        short = args.metric.rpartition('/')[2]
        held_out = []
        for step, member in enumerate(cv.members):
            checkpoint = run_stage(member.name, cv.config_path(member),
                                   cv.member_dir(member), [],
                                   argparse.Namespace(nproc=1,
                                                      trust_checkpoint=False))
            values = summarize_run(cv.member_dir(member), args.metric).values
            held_out.append(values[f'val_{short}'])
            cv.score_member(member, checkpoint)
            trial.report(float(np.mean(held_out)), step)
            if not args.no_prune and trial.should_prune():
                import optuna
                raise optuna.TrialPruned(f'after fold {member.fold}')
        return float(np.mean(held_out))
    return objective


def main(argv=None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    from mer_toolbox.experiments import sweep
    from mer_toolbox.experiments.search_space import check_search_space
    from mer_toolbox.engine.setup_env import load_config, register_all_modules
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    space = check_search_space(cfg)
    url = sweep.storage_url(args.study_dir, args.storage)
    name = args.study_name or osp.splitext(osp.basename(args.config))[0]
    seed = None if args.seed is None else args.seed + args.worker_index
    study = sweep.open_study(url, name, args.direction, seed,
                             args.prune_startup_trials,
                             args.prune_warmup_epochs)
    if args.workers > 1:
        procs = [subprocess.Popen([sys.executable, osp.abspath(__file__)]
                                  + _worker_argv(argv, i))
                 for i in range(args.workers)]
        codes = [p.wait() for p in procs]
        if any(codes):
            raise SystemExit(f'sweep workers exited with codes {codes}')
    else:
        objective = sweep.TrainingObjective(
            cfg, space, args.study_dir, args.metric, args.direction,
            prune=not args.no_prune,
            cross_validate=_cv_objective(args) if args.cv else None)
        sweep.run_study(study, objective, args.trials)
        if args.worker_index:
            return {}  # the launching process summarises
    summary = sweep.summarize_study(study, cfg, args.study_dir)
    print(f'study {name!r} in {args.study_dir}: {summary["trials"]}; best '
          f'{args.metric} {summary.get("best_value")} with '
          f'{summary.get("best_params")} -> '
          f'{osp.join(args.study_dir, "best_config.py")}', flush=True)
    return summary


if __name__ == '__main__':
    main()
