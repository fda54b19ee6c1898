"""Run every benchmark script and write one summary table.

Each script still runs alone (commands in ``benchmarks/README.md``); this one
runs them one after the other, each in a fresh interpreter with the README's
arguments (``--quick``: small sizes, a smoke run), keeps each one's output in
``OUT/<name>.log`` (and ``OUT/<name>.json`` for scripts that write one) and
writes ``OUT/summary.md`` and ``OUT/summary.json``. A script that is not in
the checkout is skipped with a message; a failing one is reported, and the
others still run.

    python benchmarks/run_all.py [--quick] [--only NAME ...] [--skip NAME ...]
        [--out work_dirs/benchmarks] [--timeout 3600]
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)


def _extraction(r: dict) -> str:
    return f"{r['clips_per_second']} clips/s ({r['detector']}, {r['mode']})"


def _priors(r: dict) -> str:
    t, kill = r['throughput'], r['kill_sigterm']
    return (f"{t['clips_per_s']} clips/s ({t['fraction_of_ceiling']:.0%} of "
            f"ceiling); SIGTERM + resume: {kill['duplicate_clips']} clips "
            'sent twice')


def _overhead(r: dict) -> str:
    res = r['results']
    return (f"toolbox / bare = {r['ratio']:.3f}x; toolbox "
            f"{_samples(res['toolbox'], r)} samples/s, bare "
            f"{_samples(res['bare, same pipeline'], r)} samples/s")


def _samples(run: dict, r: dict) -> str:
    return f"{run['iters'] * r['settings']['batch_size'] / run['seconds']:.0f}"


def _loading(r: dict) -> str:
    c = r['clips_per_second']
    rows = next(v for k, v in c.items() if k.startswith('load_rows packed'))
    return (f"getitem npy {c['getitem npy, shuffled']:,.0f} / packed "
            f"{c['getitem packed, shuffled']:,.0f} clips/s (shuffled); "
            f'load_rows packed {rows:,.0f} clips/s')


def _imports(r: dict) -> str:
    return (f"toolbox / reference = {r['ratio']:.2f}x "
            f"({r['best_s']['toolbox']} s vs {r['best_s']['reference']} s)")


def _cv(r: dict) -> str:
    return (f"{r['folds']}-fold CV {r['cv_total_s']} s vs {r['folds']} single "
            f"runs {r['single_runs_s']} s; tool overhead "
            f"{r['cv_tool_overhead_s']} s")


@dataclass(frozen=True)
class Benchmark:
    """One script: its full and quick arguments and how to summarise it.

    ``headline`` reads the script's ``--json`` output; without one the last
    Markdown table row (or line) it printed is the headline.
    """

    name: str
    full: Tuple[str, ...]
    quick: Tuple[str, ...]
    headline: Optional[Callable[[dict], str]] = None


BENCHMARKS = (
    Benchmark('bdcl_speed', ('--threads', '1'),
              ('--threads', '1', '--repeats', '3', '--ref-batch', '32',
               '--ref-repeats', '1')),
    Benchmark('extraction_speed',
              ('--clips', '16', '--seconds', '3', '--timm', '--threads', '1'),
              ('--clips', '2', '--seconds', '1', '--threads', '1'),
              _extraction),
    Benchmark('prior_generation',
              ('--clips', '200', '--latency', '0.5', '--concurrency', '16'),
              ('--clips', '32', '--latency', '0.1', '--concurrency', '8'),
              _priors),
    Benchmark('pseudo_label_pool', (), ('--clips', '5000', '--rounds', '1')),
    Benchmark('framework_overhead', ('--epochs', '10', '--repeats', '3'),
              ('--epochs', '1', '--repeats', '1'), _overhead),
    Benchmark('feature_loading', ('--clips', '5000'),
              ('--clips', '500', '--repeats', '1'), _loading),
    Benchmark('cv_overhead', (), ('--folds', '2', '--epochs', '1'), _cv),
    Benchmark('import_time', (), ('--repeats', '2'), _imports),
)


def last_row(text: str, limit: int = 240) -> str:
    """The last row of the last Markdown table printed, as ``header: value``
    pairs (else the last line)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    tables, current = [], []
    for line in lines + ['']:
        if line.startswith('|'):
            current.append(line)
        elif current:
            tables, current = tables + [current], []
    if not tables or len(tables[-1]) < 3:
        return (lines or [''])[-1][:limit]
    cells = [[c.strip() for c in row.strip('|').split('|')]
             for row in (tables[-1][0], tables[-1][-1])]
    return ', '.join(f'{h}: {v}' for h, v in zip(*cells))[:limit]


def run_one(bench: Benchmark, args: argparse.Namespace) -> Dict[str, object]:
    """Run one script; returns its summary row."""
    script = osp.join(HERE, f'{bench.name}.py')
    argv = list(bench.quick if args.quick else bench.full)
    row: Dict[str, object] = dict(
        name=bench.name, command=' '.join(
            ['python', f'benchmarks/{bench.name}.py'] + argv))
    if not osp.isfile(script):
        print(f'[{bench.name}] skipped: {script} is not in this checkout')
        return dict(row, status='skipped (missing)', seconds=0.0, headline='')
    out_json = osp.join(args.out, f'{bench.name}.json')
    if bench.headline is not None:
        argv += ['--json', out_json]
    print(f'[{bench.name}] {row["command"]}', flush=True)
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, script] + argv, cwd=REPO,
                              capture_output=True, text=True,
                              timeout=args.timeout)
        code = proc.returncode
        status = 'ok' if code == 0 else f'failed ({code})'
        stdout, stderr = proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as err:
        status, stdout = f'timeout ({args.timeout} s)', err.stdout or ''
        stderr = err.stderr or ''
        stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
        stderr = stderr.decode() if isinstance(stderr, bytes) else stderr
    seconds = time.perf_counter() - start
    with open(osp.join(args.out, f'{bench.name}.log'), 'w',
              encoding='utf-8') as f:
        f.write(stdout + '\n--- stderr ---\n' + stderr)
    headline = last_row(stdout) if status == 'ok' else last_row(stderr)
    if status == 'ok' and bench.headline is not None:
        try:
            with open(out_json, encoding='utf-8') as f:
                headline = bench.headline(json.load(f))
        except (OSError, KeyError, ValueError, StopIteration) as err:
            headline = f'{headline} (no summary: {type(err).__name__})'
    print(f'[{bench.name}] {status} in {seconds:.0f} s: {headline}',
          flush=True)
    return dict(row, status=status, seconds=round(seconds, 1),
                headline=headline)


def summary_table(rows: List[dict]) -> str:
    lines = ['| benchmark | command | status | wall (s) | headline |',
             '|---|---|---|---|---|']
    for r in rows:
        headline = str(r['headline']).replace('|', '/')
        lines.append(f"| {r['name']} | `{r['command']}` | {r['status']} | "
                     f"{r['seconds']:.0f} | {headline} |")
    return '\n'.join(lines) + '\n'


def parse_args(argv=None) -> argparse.Namespace:
    names = [b.name for b in BENCHMARKS]
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='small sizes: a smoke run of every script')
    parser.add_argument('--only', nargs='+', choices=names, metavar='NAME',
                        help=f'run only these ({", ".join(names)})')
    parser.add_argument('--skip', nargs='+', choices=names, default=[],
                        metavar='NAME', help='do not run these')
    parser.add_argument('--out', default=osp.join('work_dirs', 'benchmarks'),
                        help='folder for logs and the summary')
    parser.add_argument('--timeout', type=int, default=3600,
                        help='seconds per script')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    chosen = [b for b in BENCHMARKS if (not args.only or b.name in args.only)
              and b.name not in args.skip]
    rows = [run_one(b, args) for b in chosen]
    table = summary_table(rows)
    with open(osp.join(args.out, 'summary.md'), 'w', encoding='utf-8') as f:
        f.write(table)
    with open(osp.join(args.out, 'summary.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(quick=args.quick, rows=rows), f, indent=1)
    print('\n' + table)
    print(f'logs and summary in {args.out}')
    failed = [r for r in rows if not str(r['status']).startswith(('ok',
                                                                  'skipped'))]
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
