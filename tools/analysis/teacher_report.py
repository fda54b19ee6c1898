"""Teacher report: a prior store scored against labels (Table 1 shape).

    python tools/analysis/teacher_report.py PRIOR_STORE LABEL_CSV [LABEL_CSV ...]
        [--teacher ID] [--prompt-version V] [--classes c1 c2 ...]
        [--student PREDICTIONS_CSV | --student CHECKPOINT --student-config CONFIG]
        [--out-dir DIR] [--bins 10]

Writes ``DIR/teacher_report.{md,json,png}`` (default: next to the store) and
prints the Markdown: zero-shot accuracy / WAF / macro-F1 / UAR and per-class
recall, calibration (ECE + reliability figure), failure and refusal rates by
reason, contribution weights per class, and with ``--student`` agreement with
a student's predictions (a predictions CSV from ``tools/test.py --out``, or a
checkpoint run over its config's ``--student-split``). Metrics:
:mod:`mer_toolbox.priors.teacher_report`.
"""
import argparse
import json
import os
import os.path as osp
import sys


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('store', help='prior store (.jsonl)')
    parser.add_argument('labels', nargs='+', help='label CSV(s) with name + '
                        'discrete columns (the clips to score)')
    parser.add_argument('--teacher', help='teacher id (required when the '
                        'store holds several)')
    parser.add_argument('--prompt-version', help='prompt version (required '
                        'when the teacher has several)')
    parser.add_argument('--classes', nargs='+', help='class names in id order '
                        '(default: MER2024)')
    parser.add_argument('--student', help='predictions CSV (name,discrete) or '
                        'a checkpoint (then --student-config)')
    parser.add_argument('--student-config', help='config of the --student '
                        'checkpoint')
    parser.add_argument('--student-split', default='test',
                        choices=['test', 'val', 'train'])
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='full-pickle loading (only for files you made)')
    parser.add_argument('--out-dir', help='output folder (default: next to '
                        'the store)')
    parser.add_argument('--bins', type=int, default=10,
                        help='calibration bins')
    args = parser.parse_args(argv)
    if args.student and not args.student.lower().endswith('.csv') \
            and not args.student_config:
        parser.error('a --student checkpoint needs --student-config')
    return args


def select_records(store: str, teacher=None, prompt_version=None) -> dict:
    """clip -> latest record of the one teacher + prompt in ``store``."""
    from mer_toolbox.fileio.prior_store import latest_records
    records = latest_records(store)
    if not records:
        raise ValueError(f'{store} holds no records')
    keys = sorted({(t, v) for _, t, v in records
                   if teacher in (None, t) and prompt_version in (None, v)})
    if len(keys) != 1:
        found = sorted({(t, v) for _, t, v in records})
        raise ValueError(f'{store}: choose one teacher / prompt with '
                         f'--teacher / --prompt-version; it holds {found}')
    return {n: r for (n, t, v), r in records.items() if (t, v) == keys[0]}


def student_predictions(args, classes) -> dict:
    """clip -> predicted class id, from a CSV or by running a checkpoint."""
    from mer_toolbox.fileio.label_file import read_label_csv
    if args.student.lower().endswith('.csv'):
        return dict(read_label_csv(args.student, classes))
    from mmengine.config import Config

    from mer_toolbox.visualization.features import (build_split_dataset,
                                                    labelled_indices,
                                                    load_model, predict_split)
    cfg = Config.fromfile(args.student_config)
    dataset = build_split_dataset(cfg, args.student_split)
    if list(dataset.metainfo['classes']) != list(classes):
        raise ValueError(f'the student classes {dataset.metainfo["classes"]} '
                         f'differ from {list(classes)}')
    indices = labelled_indices(dataset)
    _, pred = predict_split(load_model(cfg, args.student,
                                       args.trust_checkpoint), dataset,
                            indices)
    names = [dataset.get_data_info(int(i))['name'] for i in indices]
    return dict(zip(names, pred.tolist()))


def main(argv=None) -> dict:
    args = parse_args(argv)
    from mer_toolbox.constants import MER2024_CLASSES
    from mer_toolbox.fileio.label_file import read_label_csv
    from mer_toolbox.priors.teacher_report import (report_markdown,
                                                   teacher_report)
    from mer_toolbox.visualization.teacher import plot_teacher_report
    classes = list(args.classes or MER2024_CLASSES)
    labels = {}
    for path in args.labels:
        for name, label in read_label_csv(path, classes):
            if name in labels:
                raise ValueError(f'{path}: clip {name!r} is in two label '
                                 'files')
            labels[name] = label
    records = select_records(args.store, args.teacher, args.prompt_version)
    student = student_predictions(args, classes) if args.student else None
    report = teacher_report(records, labels, classes, student, args.bins)
    out = args.out_dir or osp.dirname(osp.abspath(args.store))
    os.makedirs(out, exist_ok=True)
    markdown = report_markdown(report)
    with open(osp.join(out, 'teacher_report.md'), 'w', encoding='utf-8') as f:
        f.write(markdown)
    with open(osp.join(out, 'teacher_report.json'), 'w',
              encoding='utf-8') as f:
        json.dump(report, f, indent=1)
    plot_teacher_report(report, osp.join(out, 'teacher_report.png'))
    print(markdown)
    print(f'written: {osp.join(out, "teacher_report")}.{{md,json,png}}')
    return report


if __name__ == '__main__':
    try:
        main()
    except (ValueError, FileNotFoundError) as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(1)
