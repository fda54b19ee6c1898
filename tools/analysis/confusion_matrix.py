"""Confusion-matrix figure (counts and row-normalised) of a test run.

    python tools/analysis/confusion_matrix.py WORK_DIR/test_metrics.json --out cm.png
    python tools/analysis/confusion_matrix.py CONFIG CKPT [--split test] --out cm.png

The first form reads what ``tools/test.py`` wrote; the second runs the model
over the config's split (labelled clips only) and prints the metric table.
"""
import argparse
import os.path as osp


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('source', nargs='+', metavar='SOURCE',
                        help='test_metrics.json, or CONFIG CHECKPOINT')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--split', default='test', choices=['test', 'val', 'train'],
                        help='split to predict (CONFIG CHECKPOINT form only)')
    parser.add_argument('--name', help='what the figure shows, put before '
                        'WAF / accuracy in the title (default: the run folder '
                        'or config name)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='full-pickle loading (only for files you made)')
    args = parser.parse_args(argv)
    if len(args.source) not in (1, 2):
        parser.error('give either test_metrics.json or CONFIG CHECKPOINT')
    return args


def _from_model(config: str, checkpoint: str, split: str, trusted: bool):
    """``(confusion matrix, class names, metrics)`` by running the model."""
    from mmengine.config import Config

    from mer_toolbox.evaluation import emotion_metrics, format_metric_table
    from mer_toolbox.datasets.feature_folder_dataset import \
        resolve_auto_fields
    from mer_toolbox.visualization.features import (build_split_dataset,
                                                    load_model, predict_split)
    cfg = Config.fromfile(config)
    resolve_auto_fields(cfg)
    dataset = build_split_dataset(cfg, split)
    gt, pred = predict_split(load_model(cfg, checkpoint, trusted), dataset)
    classes = list(dataset.metainfo['classes'])
    report = emotion_metrics(gt, pred, len(classes))
    print(format_metric_table(report, classes))
    return report['confusion_matrix'], classes, report


def main(argv=None) -> str:
    args = parse_args(argv)
    from mer_toolbox.visualization.confusion import load_report, plot_confusion
    if len(args.source) == 1:
        report = load_report(args.source[0])
        cm, classes, metrics = (report['confusion_matrix'],
                                report['class_names'], report['metrics'])
        name = osp.basename(osp.dirname(osp.abspath(args.source[0])))
    else:
        cm, classes, metrics = _from_model(*args.source, args.split,
                                           args.trust_checkpoint)
        name = osp.splitext(osp.basename(args.source[0]))[0]
    title = (f'{args.name or name}: WAF {metrics["waf"]:.2f}, accuracy '
             f'{metrics["accuracy"]:.2f} (N={int(sum(map(sum, cm)))})')
    plot_confusion(cm, classes, args.out, title)
    print(f'figure written to {args.out}')
    return args.out


if __name__ == '__main__':
    main()
