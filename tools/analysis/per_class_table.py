"""Per-class accuracy table in the paper's Table-1 shape, one row per run.

    python tools/analysis/per_class_table.py RUN1/test_metrics.json \\
        RUN2/test_metrics.json [--names CE CE+BDCL] [--md t.md] [--csv t.csv]

Columns: ``Method | Avg | <class> ...`` where Avg is the overall accuracy and
each class column that class's recall (%). Prints the Markdown table.
"""
import argparse
import json
import os.path as osp


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('reports', nargs='+', help='test_metrics.json files')
    parser.add_argument('--names', nargs='+', help='row labels (default: the '
                        'folder of each file)')
    parser.add_argument('--md', help='write the Markdown table here')
    parser.add_argument('--csv', help='write the CSV table here (full precision)')
    parser.add_argument('--digits', type=int, default=2,
                        help='decimals in the Markdown table')
    args = parser.parse_args(argv)
    if args.names and len(args.names) != len(args.reports):
        parser.error(f'{len(args.names)} --names for {len(args.reports)} reports')
    return args


def main(argv=None) -> str:
    args = parse_args(argv)
    from mer_toolbox.visualization.tables import per_class_table
    reports = []
    for path in args.reports:
        with open(path, encoding='utf-8') as f:
            reports.append(json.load(f))
    names = args.names or [osp.basename(osp.dirname(osp.abspath(p)))
                           for p in args.reports]
    table = per_class_table(reports, names)
    markdown = table.to_markdown(args.digits)
    print(markdown)
    if args.md:
        table.write_markdown(args.md, args.digits)
    if args.csv:
        table.write_csv(args.csv)
    return markdown


if __name__ == '__main__':
    main()
