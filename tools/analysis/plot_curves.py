"""Training curves (loss terms, validation WAF / accuracy) of one run.

    python tools/analysis/plot_curves.py WORK_DIR --out curves.png
    python tools/analysis/plot_curves.py WORK_DIR/<timestamp>/vis_data/scalars.json --out curves.png

A work dir is read across all its timestamp folders (a resumed run continues
in a new one). Prints the best validation epoch.
"""
import argparse
import os.path as osp


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('log', help='work dir, or one scalars.json')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--losses', nargs='+', help='loss keys to draw '
                        '(default: every logged loss*)')
    parser.add_argument('--val-keys', nargs='+',
                        default=['emotion/waf', 'emotion/accuracy'],
                        help='validation keys to draw')
    parser.add_argument('--best-metric', default='emotion/waf',
                        help='key that marks the best epoch')
    parser.add_argument('--title', help='figure title (default: the run name)')
    return parser.parse_args(argv)


def main(argv=None) -> str:
    args = parse_args(argv)
    from mer_toolbox.visualization.curves import plot_curves
    from mer_toolbox.visualization.scalars import best_val_record, load_run_scalars
    run = load_run_scalars(args.log)
    best = best_val_record(run.val, args.best_metric)
    if best is not None:
        print(f'best {args.best_metric}: {best[args.best_metric]:.4f} at epoch '
              f'{best["step"]} ({len(run.val)} validations, '
              f'{len(run.train)} training records)')
    if args.title:
        title = args.title
    else:
        # <work_dir>/<timestamp>/vis_data/scalars.json -> <work_dir>
        root = args.log if osp.isdir(args.log) else osp.dirname(
            osp.dirname(osp.dirname(osp.abspath(args.log))))
        title = osp.basename(osp.normpath(root))
    plot_curves(run, args.out, args.losses, args.val_keys, args.best_metric, title)
    print(f'figure written to {args.out}')
    return args.out


if __name__ == '__main__':
    main()
