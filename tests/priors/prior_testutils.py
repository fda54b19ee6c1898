"""Helpers shared by the prior tests (a uniquely named module: tests are
collected without packages, so module names must not collide)."""
import csv
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(__file__))  # fake_gemini: one home, shared
from fake_gemini import synthetic_mp4  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CANARY_KEY = 'CANARY-d41d8cd98f00b204e9800998ecf8427e'
KEY_ENV = ('GOOGLE_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_GEMINI_BASE_URL',
           'GOOGLE_GENAI_USE_VERTEXAI', 'OPENAI_API_KEY')


def make_clips(root: str, names, subtitles=None, size: int = 256):
    """Write ``<root>/video/<name>.mp4`` and ``<root>/clips.csv``."""
    os.makedirs(osp.join(root, 'video'), exist_ok=True)
    for name in names:
        with open(osp.join(root, 'video', name + '.mp4'), 'wb') as f:
            f.write(synthetic_mp4(name, size))
    list_file = osp.join(root, 'clips.csv')
    with open(list_file, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(['name', 'subtitle'])
        for name in names:
            writer.writerow([name, (subtitles or {}).get(name, f'{name} 说话')])
    return list_file


def generate_records(cfg: dict, clip_root):
    """Build ``cfg``, run it over ``clip_root``'s clips into
    ``clip_root/priors.jsonl``; return (summary, clip name -> record)."""
    from mer_toolbox.fileio.prior_store import latest_records
    from mer_toolbox.fileio.clip_list import read_clip_list
    from mer_toolbox.priors import run_generation
    from mer_toolbox.registry import PRIOR_GENERATORS
    generator = PRIOR_GENERATORS.build(cfg)
    clips = read_clip_list(osp.join(clip_root, 'clips.csv'),
                           video_root=osp.join(clip_root, 'video'))
    store = osp.join(clip_root, 'priors.jsonl')
    summary = run_generation(generator, clips, store, progress=False,
                             handle_signals=False)
    return summary, {k[0]: r for k, r in latest_records(store).items()}


def tool_env(**extra) -> dict:
    """Environment for running tools/ in a subprocess from the repo."""
    env = {k: v for k, v in os.environ.items() if k not in KEY_ENV}
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO] + [p for p in [env.get('PYTHONPATH')] if p])
    env.update(extra)
    return env


#: Fast retry settings for tests against a local fake server.
FAST_API = dict(max_concurrency=4, requests_per_minute=None, timeout_s=10,
                max_attempts=3, backoff_initial_s=0.01, backoff_max_s=0.05)


def write_gemini_config(path: str, clip_root: str, store: str, url: str,
                        **generator) -> str:
    """A Gemini config file pointing at the fake server ``url``, with fast
    test retry settings; ``generator``: flat overrides of its settings,
    written in their groups (``client=dict(...)``, ``retry=dict(...)``)."""
    from mer_toolbox.priors.gemini_options import grouped
    settings = dict(FAST_API, base_url=url, **generator)
    return write_config_file(path, clip_root, store, dict(
        type='GeminiPriorGenerator', **grouped(settings)))


def write_openai_config(path: str, clip_root: str, store: str, url: str,
                        **generator) -> str:
    """An OpenAI-compatible config pointing at the fake server ``url`` (the
    ``/v1`` root), frames from ``<clip_root>/frames``."""
    return write_teacher_config(
        path, clip_root, store,
        dict(type='OpenAICompatiblePriorGenerator', model='fake-model',
             base_url=url, frame_dir=osp.join(clip_root, 'frames'),
             audio='none'), **generator)


def write_teacher_config(path: str, clip_root: str, store: str,
                         teacher: dict, **generator) -> str:
    """A prior config: ``teacher`` + fast test retry settings + overrides
    (for teachers that take the shared API options flat)."""
    return write_config_file(path, clip_root, store,
                             {**teacher, **FAST_API, **generator})


def write_config_file(path: str, clip_root: str, store: str,
                      options: dict) -> str:
    """A prior config for the clips under ``clip_root`` whose generator is
    ``options``."""
    with open(path, 'w', encoding='utf-8') as f:
        f.write(f"""clips = dict(list_file={osp.join(clip_root, 'clips.csv')!r},
             video_root={osp.join(clip_root, 'video')!r})
prior_generator = {options!r}
prior_store = {store!r}
prior_embedder = dict(type='HashingTextEmbedder', dim=32)
""")
    return path


def run_tool(argv) -> int:
    """Run ``tools/generate_priors.py`` in this process (see run_module)."""
    return run_module(osp.join(REPO, 'tools', 'generate_priors.py'), argv)


def run_module(path: str, argv):
    """Run a tool's ``main(argv)`` in this process (a subprocess costs
    seconds of imports); root logging is restored afterwards."""
    import importlib.util
    import logging
    name = osp.splitext(osp.basename(path))[0] + '_tool'
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return module.main([str(a) for a in argv])
    finally:
        for handler in root.handlers[len(handlers):]:
            handler.close()
        root.handlers[:], root.level = handlers, level
