"""Generate reasoning priors for a clip list with a teacher, into a prior store.

    python tools/generate_priors.py CONFIG [--resume] [--retry-failed]
        [--dry-run] [--limit N] [--store PATH] [--cfg-options k=v ...]

The config names ``prior_generator`` (a ``PRIOR_GENERATORS`` type),
``prior_store`` (the JSONL store), optionally ``clips`` (arguments of
:func:`mer_toolbox.fileio.clip_list.read_clip_list`; importers and the offline teacher
can list their own clips) and ``prior_embedder`` (a ``PRIOR_EMBEDDERS`` type;
embeddings are cached next to the store after the run). ``custom_imports``
loads plugin generators.

Exit codes: 0 done (failed clips are recorded, not errors), 1 bad input or
config, 2 the teacher cannot work at all (e.g. no / rejected API key), 130
interrupted (the calls in flight were finished and recorded; rerun with
``--resume``).
"""
import argparse
import json
import logging
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction

from mer_toolbox.fileio.clip_list import read_clip_list
from mer_toolbox.fileio.prior_embeddings import build_prior_embeddings
from mer_toolbox.priors import plan_clips, run_generation
from mer_toolbox.priors.apikey import RedactingFilter, key_from_env
from mer_toolbox.priors.retrying import FatalTeacherError
from mer_toolbox.registry import PRIOR_EMBEDDERS, PRIOR_GENERATORS
from mer_toolbox.engine.setup_env import add_config_dir_to_path

logger = logging.getLogger('mer_toolbox.tools.generate_priors')
KEY_ENV = ('GOOGLE_API_KEY', 'GEMINI_API_KEY', 'OPENAI_API_KEY')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='prior generation config file')
    parser.add_argument('--store', help='override the config\'s prior_store')
    parser.add_argument('--resume', action='store_true',
                        help='continue a store: clips with an ok record are '
                        'never sent again')
    parser.add_argument('--retry-failed', action='store_true',
                        help='with --resume, send clips whose last record '
                        'failed again')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the prompt, the number of calls and the '
                        'estimated cost; call nothing')
    parser.add_argument('--limit', type=int,
                        help='process at most N clips this run')
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument('--no-embed', action='store_true',
                        help='skip building the prior embedding cache')
    parser.add_argument('--embed-only', action='store_true',
                        help='only (re)build the prior embedding cache')
    parser.add_argument('--no-fsync', action='store_true',
                        help='do not fsync after each record (faster on slow '
                        'disks; a power loss may then lose recent records)')
    parser.add_argument('--summary-json', help='also write the run summary '
                        'as JSON to this file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    return parser.parse_args(argv)


def setup_logging(store: str, key_env=()) -> None:
    """Log to stderr and ``<store>.log``, with any API key blanked out.

    Args:
        key_env: the teacher's key variables, blanked out besides Gemini's.
    """
    os.makedirs(osp.dirname(osp.abspath(store)), exist_ok=True)
    redact = RedactingFilter([key_from_env([name]) for name in
                              dict.fromkeys(KEY_ENV + tuple(key_env))])
    fmt = logging.Formatter('%(asctime)s %(levelname)s %(name)s: %(message)s')
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in (logging.StreamHandler(sys.stderr),
                    logging.FileHandler(store + '.log', encoding='utf-8')):
        handler.setFormatter(fmt)
        handler.addFilter(redact)
        root.addHandler(handler)
    # Request-level chatter from the HTTP stack is not ours to log.
    for noisy in ('httpx', 'httpx2', 'httpcore', 'google_genai'):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def load_clips(cfg: Config, generator, dry_run: bool = False) -> list:
    """The clips to ask about; a missing clip list is an error with a hint
    (a dry run only notes it and plans no clip)."""
    if cfg.get('clips') is not None:
        list_file = cfg.clips.get('list_file')
        if list_file and not osp.isfile(list_file):
            hint = (f'clip list {list_file!r} not found: point MER2024_ROOT '
                    'at your MER2024 copy (the folder with label-disdim.csv, '
                    'video/ and subtitle_chieng.csv, as for training) or pass '
                    '--cfg-options clips.list_file=YOUR.csv '
                    'clips.video_root=YOUR_VIDEOS')
            if dry_run:
                print(f'note: {hint}; this dry run plans no clip')
                return []
            raise FileNotFoundError(hint)
        return read_clip_list(**cfg.clips)
    clips = generator.default_clips()
    if clips is None:
        raise ValueError(f'{type(generator).__name__} needs a clip list: set '
                         '`clips = dict(list_file=..., video_root=...)`')
    return clips


def dry_run(generator, clips, store: str, args) -> None:
    todo, skipped_ok, skipped_failed = plan_clips(
        clips, store, generator.teacher, generator.prompt_version,
        resume=True, retry_failed=args.retry_failed, limit=args.limit)
    missing = sum(1 for c in todo
                  if c.video is not None and not osp.isfile(c.video))
    print(generator.describe(todo))
    print(f'clips in list: {len(clips)}; already ok: {skipped_ok}; failed '
          f'before: {skipped_failed}'
          + ('' if args.retry_failed else ' (kept; --retry-failed resends)'))
    if skipped_ok or skipped_failed:
        print('the store has records for this teacher: a real run needs '
              '--resume')
    print(f'calls to make: {len(todo)}'
          + (f' ({missing} without a video file: recorded as missing_input)'
             if missing else ''))
    cost = generator.estimate_cost(todo)
    print(f'estimated cost: ${cost:.2f}' if cost >= 1 else
          f'estimated cost: ${cost:.4f}',
          '(assumed prices and token counts; see docs/priors.md)')
    rpm = getattr(generator, 'requests_per_minute', None)
    if rpm and todo:
        print(f'at most {rpm:g} requests/min: at least '
              f'{len(todo) / rpm / 60:.1f} h')


def main(argv=None) -> int:
    args = parse_args(argv)
    add_config_dir_to_path(args.config)  # plugins next to the config
    cfg = Config.fromfile(args.config)  # also runs custom_imports (plugins)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    store = args.store or cfg.get('prior_store')
    if not store:
        raise ValueError(f'{args.config}: set prior_store (or pass --store)')
    generator = PRIOR_GENERATORS.build(cfg.prior_generator)
    if args.dry_run:
        dry_run(generator, load_clips(cfg, generator, dry_run=True), store,
                args)
        return 0
    setup_logging(store, getattr(generator, 'api_key_env', ()))
    if not args.embed_only:
        # What produced the store, next to it. Keys never live in configs.
        cfg.dump(store + '.config.py')
        summary = run_generation(
            generator, load_clips(cfg, generator), store, resume=args.resume,
            retry_failed=args.retry_failed, limit=args.limit,
            progress=not args.no_progress, fsync=not args.no_fsync)
        print(summary.format())
        if args.summary_json:
            with open(args.summary_json, 'w', encoding='utf-8') as f:
                json.dump(summary.to_dict(), f, indent=1)
        if summary.interrupted:
            print('interrupted: rerun with --resume to continue')
            return 130
    if cfg.get('prior_embedder') and not args.no_embed and osp.exists(store):
        embedder = PRIOR_EMBEDDERS.build(cfg.prior_embedder)
        path = build_prior_embeddings(
            store, embedder, teacher=generator.teacher,
            prompt_version=generator.prompt_version, classes=generator.classes)
        print(f'prior embeddings: {path}')
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except FatalTeacherError as err:
        logger.error('%s', err)
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
    except (ValueError, RuntimeError, FileNotFoundError, KeyError) as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(1)
