"""t-SNE of learned embeddings, optionally two checkpoints side by side.

    python tools/analysis/tsne.py CONFIG CKPT --split test --features fused \\
        --out tsne.png [--compare CONFIG2 CKPT2 --labels CE CE+BDCL] \\
        [--max-samples 600] [--perplexity 30] [--json scores.json]

Prints the silhouette score of the class labels in the original feature
space and in the 2-D map for every panel, and writes both into the panel
titles (and ``--json``); see mer_toolbox/visualization/tsne.py.
"""
import argparse
import json
import os.path as osp


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='training config of the checkpoint')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--compare', nargs=2, metavar=('CONFIG2', 'CKPT2'),
                        help='a second model, drawn next to the first')
    parser.add_argument('--labels', nargs='+', metavar='LABEL',
                        help='panel titles (default: config names, or the checkpoints\' '
                        'folders when both models share a config)')
    parser.add_argument('--split', default='test', choices=['test', 'val', 'train'],
                        help='which dataloader\'s dataset to embed')
    parser.add_argument('--features', nargs='+', default=['fused'],
                        help='fused and/or modality names (video audio text);'
                        ' one panel per feature and model')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--max-samples', type=int, default=None,
                        help='random labelled subset (same clips for every '
                        'model; default: all)')
    parser.add_argument('--perplexity', type=float, default=30.0)
    parser.add_argument('--seed', type=int, default=0,
                        help='seeds the subset and t-SNE')
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--json', help='also write the silhouette scores here')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='full-pickle loading (only for files you made)')
    args = parser.parse_args(argv)
    models = 2 if args.compare else 1
    if args.labels and (len(args.labels) != models or
                        len(set(args.labels)) != models):
        parser.error(f'--labels needs {models} distinct names, one per model')
    return args


def _default_labels(pairs) -> list:
    """Config names; the checkpoints' folders when both use one config."""
    for name in (lambda c, k: osp.splitext(osp.basename(c))[0],
                 lambda c, k: osp.basename(osp.dirname(osp.abspath(k)))):
        labels = [name(c, k) for c, k in pairs]
        if len(set(labels)) == len(labels):
            return labels
    return [f'model {i + 1}' for i in range(len(pairs))]


def main(argv=None) -> dict:
    args = parse_args(argv)
    from mmengine.config import Config

    from mer_toolbox.datasets.feature_folder_dataset import \
        resolve_auto_fields
    from mer_toolbox.visualization.features import (build_split_dataset,
                                                    extract_split_features,
                                                    labelled_indices,
                                                    load_model)
    from mer_toolbox.visualization.tsne import plot_tsne, score_lines, tsne_panel

    pairs = [(args.config, args.checkpoint)]
    if args.compare:
        pairs.append(tuple(args.compare))
    labels = args.labels or _default_labels(pairs)

    extracted = []
    for config, ckpt in pairs:
        cfg = Config.fromfile(config)
        resolve_auto_fields(cfg)
        dataset = build_split_dataset(cfg, args.split)
        indices = labelled_indices(dataset, args.max_samples, args.seed)
        model = load_model(cfg, ckpt, trusted=args.trust_checkpoint)
        feats = extract_split_features(model, dataset, indices, args.batch_size)
        missing = [k for k in args.features if k not in feats.features]
        if missing:
            raise KeyError(f'{config}: no feature {missing}; available: '
                           f'{sorted(feats.features)}')
        extracted.append(feats)
    # One row per feature, one column per model.
    panels = []
    for key in args.features:
        for feats, label in zip(extracted, labels):
            title = label if len(args.features) == 1 else f'{label} [{key}]'
            panels.append(tsne_panel(title, feats.features[key], feats.labels,
                                     args.perplexity, args.seed))
    print(score_lines(panels))
    suptitle = (f't-SNE of {", ".join(args.features)} features, {args.split} '
                f'split, {panels[0].scores["num_samples"]} clips')
    plot_tsne(panels, extracted[0].classes, args.out, suptitle, ncols=len(pairs))
    print(f'figure written to {args.out}')
    scores = {p.title: p.scores for p in panels}
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(scores, f, indent=2)
    return scores


if __name__ == '__main__':
    main()
