"""Several work dirs -> one comparison table (Markdown + CSV).

    python tools/analysis/collect_results.py work_dirs/ce_only work_dirs/ce_bdcl \\
        [--md results.md] [--csv results.csv]
    python tools/analysis/collect_results.py work_dirs/bdcl_seed* --group-by-seed
    python tools/analysis/collect_results.py work_dirs/* --group-regex '_seed\\d+$'

Per run: config, seed, best validation epoch and its WAF / accuracy (from
scalars.json), and test WAF / accuracy / macro-F1 / UAR when the run has a
test_metrics.json. With grouping: mean ± sample std (ddof=1) per group; the
CSV then has ``<metric>_mean`` / ``<metric>_std`` columns.
"""
import argparse
import os
import os.path as osp


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+', help='training work dirs')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--group-by-seed', action='store_true',
                       help='average runs whose configs differ only in '
                       'randomness.seed (and work_dir)')
    group.add_argument('--group-regex', metavar='REGEX',
                       help='average runs whose names are equal once every '
                       'match of REGEX is removed')
    parser.add_argument('--metric', default='emotion/waf',
                        help='validation key that picks the best epoch')
    parser.add_argument('--md', help='write the Markdown table here')
    parser.add_argument('--csv', help='write the CSV table here (full precision)')
    parser.add_argument('--digits', type=int, default=2)
    return parser.parse_args(argv)


def main(argv=None) -> str:
    args = parse_args(argv)
    from mer_toolbox.visualization import results
    runs = [results.summarize_run(d, args.metric) for d in args.work_dirs]
    if args.group_by_seed or args.group_regex:
        key = (results.group_key_by_seed(runs) if args.group_by_seed
               else results.group_key_by_regex(args.group_regex))
        table = results.grouped_table(runs, key)
        markdown = results.mean_std_markdown(table, args.digits)
    else:
        table = results.runs_table(runs)
        markdown = table.to_markdown(args.digits)
    print(markdown)
    if args.md:
        os.makedirs(osp.dirname(osp.abspath(args.md)), exist_ok=True)
        with open(args.md, 'w', encoding='utf-8') as f:
            f.write(markdown + '\n')
    if args.csv:
        table.write_csv(args.csv)
    return markdown


if __name__ == '__main__':
    main()
