"""K-fold cross-validation with a fold ensemble (the MER challenge protocol).

    python tools/cross_validate.py CONFIG --folds 5 --work-dir W \\
        [--seeds 0 1 2] [--group-by speaker] [--split-seed 0] [--nproc 8]
    # members as separate jobs (processes, machines sharing W), then merge:
    python tools/cross_validate.py CONFIG --folds 5 --work-dir W --only fold=3,seed=1
    python tools/cross_validate.py CONFIG --folds 5 --work-dir W --merge

The train split is cut into stratified folds (``--group-by``: a column of the
train label CSV whose groups stay inside one fold). Each member (fold x seed)
is an ordinary, resumable ``tools/train.py`` run in ``W/fold_i[_seed_s]``
(torchrun with ``--nproc`` > 1) that picks its best epoch on its held-out
fold, then scores the config's val / test splits. Relaunching skips finished
members and resumes an interrupted one. The ensemble (mean of the members'
probabilities) is written as ``W/predictions_<split>.csv`` (MER submission
format) with ``W/cv_metrics.json`` and the per-member table
``W/cv_table.{md,csv}`` (printed). ``--folds 1``: no split, the members
differ by seed only and validate on the config's val split.
``--include-val`` pools the val split into the labelled clips first (K
folds over train + val; with ``--folds 1`` a refit on train + val without
validation); the val split is then not scored. A config without
a val split (MER2024) validates each member on its held-out fold only.
Stage 2 on folds: ``--load-from-cv W1`` starts member m from stage-1 member m.
"""
import argparse
import json
import os.path as osp
import time

from mmengine.config import DictAction


def parse_only(text: str) -> dict:
    """``fold=3,seed=1`` -> ``{'fold': 3, 'seed': 1}``."""
    out = {}
    for part in text.split(','):
        key, sep, value = part.partition('=')
        if not sep or key.strip() not in ('fold', 'seed') or not value.strip().lstrip('-').isdigit():
            raise argparse.ArgumentTypeError(
                f'--only expects fold=I[,seed=S], got {text!r}')
        out[key.strip()] = int(value)
    return out


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='K-fold cross-validation '
                                     'with a fold ensemble')
    parser.add_argument('config', help='training config')
    parser.add_argument('--folds', type=int, default=5,
                        help='K (default 5); 1 = no split, seeds only')
    parser.add_argument('--work-dir', help='cross-validation work dir '
                        '(default: work_dirs/<config>_cv<K>)')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help='training seeds; each fold is trained once per '
                        'seed (default: the config\'s randomness.seed)')
    parser.add_argument('--split-seed', type=int, default=0,
                        help='seed of the fold shuffle (default 0)')
    parser.add_argument('--include-val', action='store_true',
                        help='pool the config\'s val split into the labelled '
                        'clips before folding (K folds: every labelled clip '
                        'held out once; --folds 1: train on train + val '
                        'without validation); val is then not scored')
    parser.add_argument('--group-by', metavar='COLUMN',
                        help='column of the train label CSV (e.g. speaker) '
                        'whose groups never straddle two folds')
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--only', type=parse_only, metavar='fold=I[,seed=S]',
                      help='train only these members (a job of a '
                      'distributed run); --merge afterwards')
    mode.add_argument('--merge', action='store_true',
                      help='only build the ensemble and reports from '
                      'finished members')
    parser.add_argument('--load-from-cv', metavar='DIR',
                        help='stage 2 on folds: each member starts from the '
                        'same member of this stage-1 cross-validation')
    parser.add_argument('--metric', default='emotion/waf',
                        help='validation key the members pick their best '
                        'epoch by (the config\'s save_best)')
    parser.add_argument('--nproc', type=int, default=1,
                        help='processes per member (torchrun when > 1)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='passed to train.py; full-pickle loading')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys for every member')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from mer_toolbox.engine import trust_checkpoints
    from mer_toolbox.experiments import CrossValidation
    from mer_toolbox.engine.setup_env import load_config, register_all_modules
    from train_two_stage import run_stage  # sibling script (tools/ is on
    # sys.path when a tool runs as a script)
    register_all_modules()
    trust_checkpoints(args.trust_checkpoint)
    cfg = load_config(args.config, args.cfg_options)
    name = osp.splitext(osp.basename(args.config))[0]
    work_dir = args.work_dir or osp.join('work_dirs', f'{name}_cv{args.folds}')
    cv = CrossValidation(cfg, work_dir, args.folds, args.seeds,
                         args.split_seed, args.group_by, args.load_from_cv,
                         include_val=args.include_val)
    cv.prepare()
    if not args.merge:
        members = cv.select(**args.only) if args.only else cv.members
        for member in members:
            start = time.perf_counter()
            checkpoint = run_stage(member.name, cv.config_path(member),
                                   cv.member_dir(member), [], args)
            trained = time.perf_counter()
            cv.score_member(member, checkpoint)
            print(f'[{member.name}] train {trained - start:.1f} s, score '
                  f'{time.perf_counter() - trained:.1f} s', flush=True)
        if args.only:
            print(f'done: {[m.name for m in members]}; build the ensemble '
                  'with --merge once every member is done', flush=True)
            return {}
    table, metrics = cv.report(args.metric)
    with open(osp.join(cv.work_dir, 'cv_metrics.json'), 'w',
              encoding='utf-8') as f:
        json.dump(metrics, f, indent=2)
    markdown = table.to_markdown()
    with open(osp.join(cv.work_dir, 'cv_table.md'), 'w', encoding='utf-8') as f:
        f.write(markdown + '\n')
    table.write_csv(osp.join(cv.work_dir, 'cv_table.csv'))
    print(markdown, flush=True)
    print(f'ensemble predictions: '
          f'{[osp.join(cv.work_dir, f"predictions_{s}.csv") for s in cv.scored_splits()]}',
          flush=True)
    return metrics


if __name__ == '__main__':
    main()
