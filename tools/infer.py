"""Predict the emotion of one raw clip with a trained model.

    python tools/infer.py CONFIG CHECKPOINT CLIP.mp4 --extract-config EXTRACTION_CONFIG
        [--subtitle TEXT] [--prior PRIOR.json] [--device cpu] [--json OUT.json]
        [--feature-map video=NAME-UTT ...] [--trust-checkpoint]

CONFIG is the training config (its dataset's ``data_prefix`` says which
feature folder feeds each modality); EXTRACTION_CONFIG is the extraction
config that produced those folders (see docs/inference.md). Prints the
emotion, a per-class score table and the fusion weights of the modalities.

Exit codes: 0 predicted; 1 the clip cannot be extracted (reason printed);
2 bad input: a missing file, a config / checkpoint that does not fit, a
modality the extraction config does not produce, an invalid prior.
"""
import argparse
import json
import os
import os.path as osp
import pickle
import sys

from mmengine.config import DictAction


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='training config of the model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('clip', help='video clip (mp4, avi, ...)')
    parser.add_argument('--extract-config', required=True,
                        help='extraction config (configs/extraction/...)')
    parser.add_argument('--subtitle', help="the clip's subtitle (needed when "
                        'the model uses text)')
    parser.add_argument('--prior', help='JSON file with one prior record '
                        'for this clip (used by prior-guided models only)')
    parser.add_argument('--device', help="'cpu', 'cuda', 'cuda:1' or 'auto' "
                        'for the model and every encoder (default: the model '
                        "on 'auto', encoders as the extraction config says)")
    parser.add_argument('--json', help='also write the result to this file')
    parser.add_argument('--feature-map', nargs='+', action=DictAction,
                        help='modality=feature-folder pairs overriding the '
                        "training config's data_prefix")
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load the checkpoint with full pickle (only for '
                        'files you produced; see docs/checkpoints.md)')
    return parser.parse_args(argv)


def format_result(result: dict) -> str:
    """The human-readable report: emotion, score table, modality weights."""
    width = max(len(c) for c in result['scores'])
    lines = [f"emotion: {result['label']}", '',
             f"{'class':<{width}}  score"]
    for cls, score in sorted(result['scores'].items(),
                             key=lambda kv: -kv[1]):
        mark = '  <' if cls == result['label'] else ''
        lines.append(f'{cls:<{width}}  {score:.4f}{mark}')
    weights = result.get('modality_weights')
    lines.append('')
    lines.append('modality weights: ' + (
        '  '.join(f'{m} {w:.3f}' for m, w in weights.items())
        if weights else 'n/a (the fusion neck reports none)'))
    for reason, detail in result.get('warnings') or []:
        lines.append(f'warning: {reason}: {detail}')
    return '\n'.join(lines)


def _check_files(args: argparse.Namespace) -> None:
    """Cheap checks before any model is loaded (a checkpoint URL is fetched
    by the safe loader later)."""
    from mer_toolbox.engine.checkpoint_sources import is_remote
    for what, path in (('clip', args.clip), ('config', args.config),
                       ('checkpoint', args.checkpoint),
                       ('extraction config', args.extract_config),
                       ('prior', args.prior)):
        if path is not None and not osp.isfile(path) and not (
                what == 'checkpoint' and is_remote(path)):
            raise FileNotFoundError(f'{what} {path!r} does not exist')


def main(argv=None) -> int:
    args = parse_args(argv)
    from mer_toolbox.apis import (build_extractor, inference_clip,
                                  init_model)
    from mer_toolbox.fileio.clip_errors import ClipError
    try:
        _check_files(args)
        model = init_model(args.config, args.checkpoint,
                           device=args.device or 'auto',
                           trust_checkpoint=args.trust_checkpoint)
        extractor = build_extractor(args.extract_config, args.device)
        result = inference_clip(model, extractor, args.clip, args.subtitle,
                                args.prior, feature_map=args.feature_map)
    except ClipError as err:
        print(f'error: cannot extract clip {args.clip}: {err}',
              file=sys.stderr)
        if err.reason == 'missing subtitle':
            print('hint: the model uses text; pass --subtitle TEXT',
                  file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError, KeyError, RuntimeError,
            pickle.UnpicklingError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args \
            else err
        print(f'error: {type(err).__name__}: {message}', file=sys.stderr)
        return 2
    print(f'clip: {args.clip}')
    if args.prior:
        print('prior: ' + ('used' if result['used_prior'] else
                           'given, not used by this model'))
    print(format_result(result))
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(dict(clip=args.clip, **result), f, indent=2,
                      ensure_ascii=False)
    return 0


if __name__ == '__main__':
    sys.exit(main())
