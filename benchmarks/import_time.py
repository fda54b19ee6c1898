"""Import time of the package against MMEngine + torch, and what it loads.

Each statement runs in a fresh interpreter (``python -c``), timed from
process start to exit, best of ``--repeats`` (the minimum: the run least
disturbed by other jobs on a shared machine). Runs are interleaved so both
statements see the same machine load. The reference is what any MMEngine
training script pays anyway (``import mmengine.runner, torch``); the target is
the toolbox within 1.3x of it. For the toolbox statement the script also
lists which optional heavy stacks ended up in ``sys.modules``.

``--baseline CHECKOUT`` also times the toolbox statement in another checkout
of the repository (e.g. the commit before a change), interleaved with the
others, so before / after see the same machine load.

    python benchmarks/import_time.py [--repeats 5] [--baseline CHECKOUT]
        [--json OUT]
"""
import argparse
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time
from typing import Dict, List

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

REFERENCE = 'import mmengine.runner, torch'
TOOLBOX = 'import mer_toolbox.models, mer_toolbox.datasets, mer_toolbox.engine'
# Optional stacks that should load only when a component that needs them is
# built (the same list the import test checks).
HEAVY = ('transformers', 'timm', 'google.genai', 'av', 'cv2',
         'mer_toolbox.media', 'mer_toolbox.priors')


def _run(statement: str, repo: str, **kwargs) -> subprocess.CompletedProcess:
    # the checkout first on the path, whatever is installed
    env = dict(os.environ, PYTHONPATH=repo)
    return subprocess.run([sys.executable, '-c', statement], cwd=repo,
                           env=env, check=True, **kwargs)


def time_once(statement: str, repo: str = REPO) -> float:
    """Seconds for one fresh interpreter to run ``statement`` and exit."""
    start = time.perf_counter()
    _run(statement, repo)
    return time.perf_counter() - start


def loaded_heavy(statement: str, repo: str = REPO) -> List[str]:
    """The modules of ``HEAVY`` present in ``sys.modules`` after
    ``statement``, in a fresh interpreter."""
    probe = (f'{statement}\nimport sys\n'
             f'print(",".join(m for m in {HEAVY!r} if m in sys.modules))')
    out = _run(probe, repo, capture_output=True, text=True).stdout.strip()
    return [m for m in out.split(',') if m]


def main(argv=None) -> Dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--baseline', metavar='CHECKOUT',
                        help='another checkout to time the toolbox in')
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args(argv)

    runs = {'reference': (REFERENCE, REPO), 'toolbox': (TOOLBOX, REPO)}
    if args.baseline:
        runs['toolbox, baseline'] = (TOOLBOX, osp.abspath(args.baseline))
    times: Dict[str, List[float]] = {k: [] for k in runs}
    time_once(REFERENCE)  # warm the file cache before anything is timed
    for _ in range(args.repeats):
        for key, (statement, repo) in runs.items():
            times[key].append(time_once(statement, repo))
    best = {k: min(v) for k, v in times.items()}
    ratios = {k: round(v / best['reference'], 3) for k, v in best.items()}
    # the reference's list shows what MMEngine itself loads
    heavy = {k: loaded_heavy(s, r) for k, (s, r) in runs.items()}
    result = dict(
        repeats=args.repeats, python=platform.python_version(),
        statements={k: s for k, (s, _) in runs.items()},
        baseline=args.baseline, best_s={k: round(v, 3)
                                        for k, v in best.items()},
        all_s={k: [round(t, 3) for t in v] for k, v in times.items()},
        ratio=ratios['toolbox'], ratios=ratios, heavy_loaded=heavy)

    print(f'| run | statement | best of {args.repeats} (s) | / reference '
          '| heavy modules loaded |\n|---|---|---|---|---|')
    for key, (statement, _) in runs.items():
        print(f'| {key} | `{statement}` | {best[key]:.3f} | '
              f'{ratios[key]:.2f}x | {", ".join(heavy.get(key, [])) or "-"} |')
    print(f'\ntoolbox / reference = {ratios["toolbox"]:.2f}x (target: <= '
          '1.3x)')
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    main()
