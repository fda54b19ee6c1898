"""The paper's Table 2 (modality ablation + reasoning priors) on the demo data.

    python tools/analysis/table2_ablation.py [--work-root work_dirs/table2]
        [--seed 0] [--epochs N] [--stage2-epochs N] [--jobs 2] [--md FILE]

Rows, each trained with ``tools/train.py`` and scored with ``tools/test.py``
(best checkpoint by validation WAF, scored on the test split):

====================  =======================================================
A / V / T             ``configs/ablations/bdcl_{audio,video,text}_only.py``
AVT                   ``configs/ablations/ce_bdcl.py`` (CE + BDCL, labelled)
AVT + prior           ``configs/prior_stage2.py`` from the AVT checkpoint
====================  =======================================================

All rows use labelled data only (no pseudo-labels), so the last row isolates
what the priors add. Accuracy and F1 are the MER scores (F1 = weighted F1,
"WAF"), in percent. ``--epochs`` / ``--stage2-epochs`` shorten the schedules
(the cosine ``T_max`` follows) for a quick look; finished rows are reused
(delete ``WORK_ROOT/<row>`` to redo one).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: (row name, config, modalities marked, uses priors)
ROWS = (
    ('A', 'configs/ablations/bdcl_audio_only.py', 'A', False),
    ('V', 'configs/ablations/bdcl_video_only.py', 'V', False),
    ('T', 'configs/ablations/bdcl_text_only.py', 'T', False),
    ('AVT', 'configs/ablations/ce_bdcl.py', 'AVT', False),
    ('AVT_prior', 'configs/prior_stage2.py', 'AVT', True),
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-root', default='work_dirs/table2')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--epochs', type=int,
                        help='stage-1 rows: epochs (default: the configs\')')
    parser.add_argument('--stage2-epochs', type=int,
                        help='AVT + prior: epochs (default: the config\'s)')
    parser.add_argument('--jobs', type=int, default=1,
                        help='rows trained at once (A / V / T / AVT)')
    parser.add_argument('--md', help='also write the table here')
    return parser.parse_args(argv)


def _options(seed: int, epochs: Optional[int]) -> List[str]:
    out = [f'randomness.seed={seed}']
    if epochs:
        out += [f'train_cfg.max_epochs={epochs}',
                f'param_scheduler.0.T_max={epochs}']
    return out


def _call(cmd: List[str], log: str) -> None:
    with open(log, 'a', encoding='utf-8') as f:
        code = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT)
    if code != 0:
        raise RuntimeError(f'{" ".join(cmd)} failed ({code}); see {log}')


def run_row(config: str, work_dir: str, options: List[str]) -> dict:
    """Train (unless done) and test one row; return its test metrics."""
    from mer_toolbox.engine.stage_checkpoint import resolve_checkpoint
    result = osp.join(work_dir, 'test', 'test_metrics.json')
    if not osp.isfile(result):
        os.makedirs(work_dir, exist_ok=True)
        log = osp.join(work_dir, 'table2.log')
        resume = ['--resume'] if osp.isfile(
            osp.join(work_dir, 'last_checkpoint')) else []
        _call([sys.executable, osp.join(REPO, 'tools', 'train.py'), config,
               '--work-dir', work_dir, '--no-test', *resume,
               '--cfg-options', *options],
              log)
        checkpoint = resolve_checkpoint(work_dir, hint='training failed')
        test_options = [o for o in options if o.startswith('model.')]
        _call([sys.executable, osp.join(REPO, 'tools', 'test.py'), config,
               checkpoint, '--work-dir', osp.join(work_dir, 'test')]
              + (['--cfg-options', *test_options] if test_options else []),
              log)
    with open(result, encoding='utf-8') as f:
        return json.load(f)['metrics']


def format_table(metrics: dict) -> str:
    """Markdown in Table 2's shape: modality / prior marks, ACC, F1."""
    lines = ['| A | V | T | Prior | ACC | F1 |', '|---|---|---|---|---|---|']
    for name, _, marks, prior in ROWS:
        m = metrics[name]
        cells = ['✓' if c in marks else '' for c in 'AVT']
        cells.append('✓' if prior else '')
        lines.append('| ' + ' | '.join(cells) +
                     f' | {m["accuracy"]:.2f} | {m["waf"]:.2f} |')
    return '\n'.join(lines)


def main(argv=None) -> str:
    args = parse_args(argv)
    root = osp.abspath(args.work_root)
    md = args.md and osp.abspath(args.md)
    os.chdir(REPO)  # configs and the demo data_root are repo-relative
    base = ROWS[:4]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {name: pool.submit(run_row, cfg, osp.join(root, name),
                                     _options(args.seed, args.epochs))
                   for name, cfg, _, _ in base}
        metrics = {name: f.result() for name, f in futures.items()}
    from mer_toolbox.engine.stage_checkpoint import resolve_checkpoint
    avt = resolve_checkpoint(osp.join(root, 'AVT'))
    name, cfg, _, _ = ROWS[4]
    metrics[name] = run_row(cfg, osp.join(root, name),
                            _options(args.seed, args.stage2_epochs)
                            + [f'load_from={avt}'])
    table = format_table(metrics)
    print(f'Table 2 on the demo data (test split, seed {args.seed}; F1 = '
          'weighted F1; labelled data only; the prior row is stage 2 on the '
          'AVT checkpoint):\n' + table)
    if md:
        with open(md, 'w', encoding='utf-8') as f:
            f.write(table + '\n')
    return table


if __name__ == '__main__':
    main()
