"""What tools/cross_validate.py adds to the training it runs.

Runs, on the demo config (``configs/bdcl_stage1.py``, short schedule):

* **single**: ``tools/train.py`` ``K`` times (seeds 0..K-1), each a fresh
  process that trains on the whole train split and tests its best checkpoint;
* **cv**: ``tools/cross_validate.py --folds K``: K member trainings (each a
  ``tools/train.py`` process on K-1 folds), the val / test scoring of every
  member, the ensemble and the reports;
* **relaunch**: the same command again once everything is done (plan check,
  skipped members, report from the stored scores).

The tool's own cost is ``cv`` minus the members' training time (the tool
prints it per member); scoring two splits per member is part of it.

    python benchmarks/cv_overhead.py [--folds 5] [--epochs 2] [--out work_dirs/bench_cv] [--json OUT]
"""
import argparse
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'bdcl_stage1.py')


def _timed(cmd):
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    start = time.perf_counter()
    proc = subprocess.run([sys.executable] + cmd, cwd=REPO, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f'{cmd} failed:\n{proc.stderr[-3000:]}')
    return wall, proc.stdout + proc.stderr


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--folds', type=int, default=5)
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--out', default=osp.join(REPO, 'work_dirs', 'bench_cv'))
    parser.add_argument('--json')
    args = parser.parse_args(argv)
    shutil.rmtree(args.out, ignore_errors=True)
    options = ['--cfg-options', f'train_cfg.max_epochs={args.epochs}']
    single = []
    for seed in range(args.folds):
        wall, _ = _timed(['tools/train.py', CONFIG, '--work-dir',
                          osp.join(args.out, f'single_{seed}')] + options
                         + [f'randomness.seed={seed}'])
        single.append(wall)
    cv_cmd = ['tools/cross_validate.py', CONFIG, '--folds', str(args.folds),
              '--work-dir', osp.join(args.out, 'cv')] + options
    cv_wall, log = _timed(cv_cmd)
    member = [(float(a), float(b)) for a, b in
              re.findall(r'\] train ([\d.]+) s, score ([\d.]+) s', log)]
    relaunch, _ = _timed(cv_cmd)
    train = sum(a for a, _ in member)
    result = dict(folds=args.folds, epochs=args.epochs,
                  single_runs_s=round(sum(single), 1),
                  single_run_mean_s=round(sum(single) / len(single), 1),
                  cv_total_s=round(cv_wall, 1),
                  cv_member_training_s=round(train, 1),
                  cv_scoring_s=round(sum(b for _, b in member), 1),
                  cv_tool_overhead_s=round(cv_wall - train, 1),
                  relaunch_when_done_s=round(relaunch, 1))
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
