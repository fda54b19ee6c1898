"""The stage-1 recipe and its ablations on real corpora, as a user runs them.

    REALDEV_DIR=/path/to/realdev python benchmarks/realdev_recipes.py \
        [--out work_dirs/realdev] [--recipes default imbalance_ce ...] \
        [--datasets meld ravdess] [--seeds 0 1 2]

``REALDEV_DIR`` holds ``meld_text_dev.npz`` and ``ravdess_av_dev.npz``
(train / val / test arrays; not shipped with the project). Each file is
converted once with ``tools/dataset_converters/from_arrays.py`` (packed
layout), plus a *half-label* variant: a stratified half of train keeps its
labels, the other half becomes ``pool.csv`` (labels hidden from training,
kept only to log pseudo-label precision).

Every (recipe, dataset) pair is one ``tools/cross_validate.py CONFIG --folds 1
--seeds ...`` run: one model per seed trained on train (the recipe's final
model; a recipe that keeps a best-by-validation checkpoint uses that one),
then val and test scored by each seed's model (single model: mean ± std)
and by the mean of their probabilities (seed ensemble); ``default_refit``
adds ``--include-val`` (each seed's model trained on train + val, no
validation, val not scored). Test is never used to
choose anything. Finished runs are skipped, so the script resumes. The table
goes to ``<out>/results.md`` and ``<out>/results.json``.
"""
import argparse
import csv
import json
import os
import os.path as osp
import subprocess
import sys
import time

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DATASETS = dict(meld='meld_text_dev.npz', ravdess='ravdess_av_dev.npz')
FF = 'configs/feature_folder'
#: name -> (config, data variant, what it shows[, extra cross_validate args])
RECIPES = {
    'paper_attention_bdcl': (f'{FF}/ablations/paper_attention_bdcl.py', 'full',
                             'previous default: attention fusion, CE + BDCL'),
    'default': (f'{FF}/bdcl_stage1.py', 'full',
                'default: concat fusion, logit-adjusted CE (tau 0.5), mixup, '
                '80 epochs, final model'),
    'imbalance_ce': (f'{FF}/ablations/imbalance_ce.py', 'full',
                     'default with plain CE'),
    'imbalance_class_weighted': (f'{FF}/ablations/imbalance_class_weighted.py',
                                 'full', 'default with class-weighted CE'),
    'imbalance_balanced_softmax': (
        f'{FF}/ablations/imbalance_balanced_softmax.py', 'full',
        'default with balanced softmax (tau 1)'),
    'imbalance_sampler': (f'{FF}/ablations/imbalance_sampler.py', 'full',
                          'plain CE + class-balanced sampler'),
    'bdcl_on': (f'{FF}/ablations/bdcl_on.py', 'full', 'default + BDCL'),
    'bdcl_memory': (f'{FF}/ablations/bdcl_memory.py', 'full',
                    'default + BDCL with a 1024-clip memory queue'),
    'speaker_centering_off': (
        f'{FF}/ablations/speaker_centering_off.py', 'full',
        'default without per-speaker centring (the previous default)'),
    'default_refit': (f'{FF}/bdcl_stage1.py', 'full',
                      'default refitted on train + val (no validation; '
                      'cross_validate.py --include-val)', ('--include-val',)),
    'half_labelled_only': (f'{FF}/bdcl_stage1.py', 'half',
                           'half of train labelled, no pool'),
    'half_pseudo_labels': (f'{FF}/bdcl_stage1_pool.py', 'half',
                           'half labelled + the other half as pool'),
}
KEYS = ('waf', 'macro_f1', 'uar')
#: the order runs happen in (most informative first)
ORDER = ('default', 'default_refit', 'speaker_centering_off',
         'paper_attention_bdcl', 'half_labelled_only',
         'half_pseudo_labels', 'bdcl_on', 'imbalance_ce',
         'imbalance_class_weighted', 'imbalance_balanced_softmax',
         'imbalance_sampler', 'bdcl_memory')


def convert(src: str, root: str) -> None:
    if osp.isfile(osp.join(root, 'classes.txt')):
        return
    subprocess.run([sys.executable, osp.join(REPO, 'tools', 'dataset_converters',
                                             'from_arrays.py'), src, root,
                    '--layout', 'packed'], check=True)


def make_half(root: str, half: str, seed: int = 0) -> None:
    """Hide the labels of a stratified half of train (-> pool.csv)."""
    if osp.isfile(osp.join(half, 'pool.csv')):
        return
    os.makedirs(half, exist_ok=True)
    for entry in os.listdir(root):
        if entry != 'label-train.csv' and not osp.exists(osp.join(half, entry)):
            os.symlink(osp.abspath(osp.join(root, entry)), osp.join(half, entry))
    with open(osp.join(root, 'label-train.csv'), newline='',
              encoding='utf-8') as f:
        reader = csv.DictReader(f)
        rows, columns = list(reader), reader.fieldnames
    rng = np.random.default_rng(seed)
    keep = np.zeros(len(rows), bool)
    labels = np.array([r['discrete'] for r in rows])
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        keep[idx[:(len(idx) + 1) // 2]] = True
    for name, chosen in (('label-train.csv', keep), ('pool.csv', ~keep)):
        with open(osp.join(half, name), 'w', newline='', encoding='utf-8') as f:
            # every column kept: a speaker column centres the pool too
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(r for r, k in zip(rows, chosen) if k)


def run(config: str, data_root: str, work_dir: str, seeds,
        extra=()) -> float:
    start = time.time()
    cmd = [sys.executable, osp.join(REPO, 'tools', 'cross_validate.py'),
           osp.join(REPO, config), '--folds', '1', '--work-dir', work_dir,
           '--seeds', *map(str, seeds), *extra]
    env = dict(os.environ, DATA_ROOT=data_root)
    os.makedirs(osp.dirname(work_dir), exist_ok=True)
    with open(work_dir + '.log', 'a', encoding='utf-8') as log:
        subprocess.run(cmd, check=True, env=env, stdout=log,
                       stderr=subprocess.STDOUT, cwd=REPO)
    return time.time() - start


def summarise(work_dir: str) -> dict:
    """Test scores of the members (mean ± std) and of the seed ensemble."""
    with open(osp.join(work_dir, 'cv_metrics.json'), encoding='utf-8') as f:
        report = json.load(f)
    members = [m['splits']['test'] for m in report['members'].values()]
    out = {}
    for key in KEYS:
        values = np.array([m[key] for m in members])
        out[key] = (float(values.mean()), float(values.std(ddof=1))
                    if len(values) > 1 else 0.0)
        out[f'ensemble_{key}'] = float(report['ensemble']['test'][key])
    return out


def table(results: dict) -> str:
    lines = ['| dataset | recipe | WAF | macro-F1 | UAR | ensemble WAF | '
             'ensemble macro-F1 | ensemble UAR |', '|---' * 8 + '|']
    for (dataset, recipe), r in results.items():
        cells = [f'{r[k][0]:.1f} ± {r[k][1]:.1f}' for k in KEYS]
        cells += [f'{r["ensemble_" + k]:.1f}' for k in KEYS]
        lines.append(f'| {dataset} | {recipe} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-dir', default=os.environ.get('REALDEV_DIR'),
                        help='folder of the npz files (default: $REALDEV_DIR)')
    parser.add_argument('--out', default='work_dirs/realdev')
    parser.add_argument('--recipes', nargs='+', default=list(ORDER),
                        choices=list(RECIPES))
    parser.add_argument('--datasets', nargs='+', default=list(DATASETS),
                        choices=list(DATASETS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error('set REALDEV_DIR or --data-dir')
    out = osp.abspath(args.out)
    results, times = {}, {}
    for dataset in args.datasets:
        full = osp.join(out, 'data', dataset)
        convert(osp.join(args.data_dir, DATASETS[dataset]), full)
        make_half(full, osp.join(out, 'data', dataset + '_half'))
        for recipe in args.recipes:
            config, variant, _, *extra = RECIPES[recipe]
            root = full if variant == 'full' else full + '_half'
            work = osp.join(out, 'runs', recipe, dataset)
            times[f'{dataset}/{recipe}'] = run(config, root, work, args.seeds,
                                               *extra)
            results[(dataset, recipe)] = summarise(work)
            print(f'{dataset} {recipe}: {results[(dataset, recipe)]}',
                  flush=True)
    text = table(results)
    print(text)
    with open(osp.join(out, 'results.md'), 'w', encoding='utf-8') as f:
        f.write(text + '\n')
    with open(osp.join(out, 'results.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(results={f'{d}/{r}': v for (d, r), v in results.items()},
                       seconds=times), f, indent=2)
    return results


if __name__ == '__main__':
    main()
