"""Run stage 1 then stage 2 with one command, resumably.

    python tools/train_two_stage.py configs/bdcl_stage1.py configs/prior_stage2.py
    python tools/train_two_stage.py STAGE1_CFG STAGE2_CFG --work-root DIR \
        [--cfg-options k=v ...] [--stage1-options k=v ...] \
        [--stage2-options k=v ...] [--nproc N] [--test]

Layout: ``WORK_ROOT/stage1`` and ``WORK_ROOT/stage2`` (default WORK_ROOT:
``work_dirs/two_stage/<stage-2 config name>``). Each stage runs
``tools/train.py`` in a fresh process and, when it finishes, writes
``stage_done.json`` naming the checkpoint it hands on (its best by validation
WAF, else its last). Rerunning the command:

* skips a stage whose ``stage_done.json`` exists (delete it, or the stage's
  folder, to retrain);
* passes ``--resume`` to a stage that was interrupted after its first
  checkpoint (MMEngine's ``last_checkpoint`` is in its folder);
* starts stage 2 with ``load_from`` = stage 1's handed-on checkpoint.

``--test`` then runs ``tools/test.py`` on stage 2's checkpoint (metrics in
``WORK_ROOT/stage2/test_metrics.json``).
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
from typing import List, Optional

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

DONE_FILE = 'stage_done.json'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train stage 1 then stage 2')
    parser.add_argument('stage1_config')
    parser.add_argument('stage2_config')
    parser.add_argument('--work-root', help='parent of stage1/ and stage2/ '
                        '(default: work_dirs/two_stage/<stage-2 config>)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='key=value overrides for both stages')
    parser.add_argument('--stage1-options', nargs='+', default=[],
                        help='key=value overrides for stage 1 only')
    parser.add_argument('--stage2-options', nargs='+', default=[],
                        help='key=value overrides for stage 2 only')
    parser.add_argument('--nproc', type=int, default=1,
                        help='processes per stage (torchrun when > 1)')
    parser.add_argument('--test', action='store_true',
                        help='test the stage-2 checkpoint afterwards')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='passed to train.py / test.py')
    return parser.parse_args(argv)


def _train_command(config: str, work_dir: str, options: List[str],
                   resume: bool, nproc: int, trust: bool) -> List[str]:
    tool = osp.join(REPO, 'tools', 'train.py')
    if nproc > 1:
        cmd = [sys.executable, '-m', 'torch.distributed.run',
               f'--nproc-per-node={nproc}', tool, config, '--launcher',
               'pytorch']
    else:
        cmd = [sys.executable, tool, config]
    cmd += ['--work-dir', work_dir, '--no-test']  # --test runs test.py once
    if resume:
        cmd.append('--resume')
    if trust:
        cmd.append('--trust-checkpoint')
    if options:
        cmd += ['--cfg-options'] + options
    return cmd


def _run(cmd: List[str]) -> None:
    print('+ ' + ' '.join(cmd), flush=True)
    code = subprocess.call(cmd)
    if code != 0:
        raise SystemExit(f'command failed with exit code {code}: '
                         + ' '.join(cmd))


def done_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint a finished stage hands on, or None if unfinished."""
    path = osp.join(work_dir, DONE_FILE)
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        checkpoint = json.load(f)['checkpoint']
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'{path} names {checkpoint}, which is gone; '
                                f'delete {path} to retrain this stage')
    return checkpoint


def run_stage(name: str, config: str, work_dir: str, options: List[str],
              args: argparse.Namespace) -> str:
    """Train one stage unless done; return the checkpoint it hands on."""
    from mer_toolbox.engine.stage_checkpoint import resolve_checkpoint
    checkpoint = done_checkpoint(work_dir)
    if checkpoint is not None:
        print(f'[{name}] done before, skipped: {checkpoint}', flush=True)
        return checkpoint
    resume = osp.isfile(osp.join(work_dir, 'last_checkpoint'))
    print(f'[{name}] {"resuming" if resume else "training"} {config} in '
          f'{work_dir}', flush=True)
    _run(_train_command(config, work_dir, options, resume, args.nproc,
                        args.trust_checkpoint))
    # the file best.pth points at now: the record names what stage 2 used
    checkpoint = osp.realpath(resolve_checkpoint(
        work_dir, hint=f'{name} finished without saving a checkpoint'))
    with open(osp.join(work_dir, DONE_FILE), 'w', encoding='utf-8') as f:
        json.dump(dict(config=osp.abspath(config), checkpoint=checkpoint), f,
                  indent=2)
    print(f'[{name}] done: {checkpoint}', flush=True)
    return checkpoint


def main(argv=None) -> dict:
    args = parse_args(argv)
    for config in (args.stage1_config, args.stage2_config):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file {config!r} does not exist')
    root = args.work_root or osp.join(
        'work_dirs', 'two_stage',
        osp.splitext(osp.basename(args.stage2_config))[0])
    stage1_dir, stage2_dir = osp.join(root, 'stage1'), osp.join(root, 'stage2')
    stage1 = run_stage('stage 1', args.stage1_config, stage1_dir,
                       args.cfg_options + args.stage1_options, args)
    # load_from matters only for a fresh stage 2; a resumed one restores
    # its own checkpoint (train.py --resume drops load_from).
    stage2 = run_stage('stage 2', args.stage2_config, stage2_dir,
                       args.cfg_options + args.stage2_options
                       + [f'load_from={stage1}'], args)
    if args.test:
        cmd = [sys.executable, osp.join(REPO, 'tools', 'test.py'),
               args.stage2_config, stage2, '--work-dir', stage2_dir]
        if args.trust_checkpoint:
            cmd.append('--trust-checkpoint')
        options = args.cfg_options + args.stage2_options
        if options:
            cmd += ['--cfg-options'] + options
        _run(cmd)
    return dict(stage1=stage1, stage2=stage2)


if __name__ == '__main__':
    main()
