"""Benchmark: API-teacher prior generation against the local fake servers.

Measures (1) throughput of ``GeminiPriorGenerator`` (or, with ``--teacher
openai``, ``OpenAICompatiblePriorGenerator`` sending 2 face frames per clip)
+ the run loop with a fixed server latency and bounded concurrency (the
ceiling is ``concurrency / latency`` clips/s), at each ``--concurrency``
given, and (2) what a kill costs: the tool runs in a subprocess, is killed
midway (SIGTERM: graceful drain; SIGKILL: hard), then resumed with
``--resume``; the server counts calls per clip (at the last concurrency).

    python benchmarks/prior_generation.py [--teacher gemini|openai]
        [--clips 200] [--latency 0.5] [--concurrency 1 2 4 8 16 32]
        [--no-kill] [--json results.json]

Runs offline: the server listens on 127.0.0.1 only. Results: benchmarks/README.md.
"""
import argparse
import json
import multiprocessing
import os
import os.path as osp
import signal
import subprocess
import sys
import tempfile
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'tests', 'priors'))  # the one fake server

from fake_gemini import FakeGemini  # noqa: E402
from fake_openai import FakeOpenAI, write_frames  # noqa: E402
from prior_testutils import (make_clips, write_gemini_config,  # noqa: E402
                             write_openai_config)

from mer_toolbox.fileio.clip_list import read_clip_list
from mer_toolbox.fileio.prior_store import latest_records
from mer_toolbox.priors import run_generation
from mer_toolbox.registry import PRIOR_GENERATORS  # noqa: E402

KEY = 'benchmark-dummy-key'
#: teacher -> (fake server, config writer, URL of a running server)
TEACHERS = {
    'gemini': (FakeGemini, write_gemini_config, lambda fake: fake.url),
    'openai': (FakeOpenAI, write_openai_config, lambda fake: fake.base_url),
}


def _generator_cfg(teacher: str, url: str, root: str,
                   concurrency: int) -> dict:
    common = dict(max_concurrency=concurrency, requests_per_minute=None,
                  timeout_s=30)
    if teacher == 'gemini':
        return dict(type='GeminiPriorGenerator',
                    client=dict(base_url=url, **common))
    return dict(type='OpenAICompatiblePriorGenerator', model='fake-model',
                base_url=url, frame_dir=osp.join(root, 'frames'),
                audio='none', **common)


def _serve(conn, latency: float, teacher: str) -> None:
    """Child process: run the fake server until asked for its stats."""
    server, _, url = TEACHERS[teacher]
    with server(latency=latency) as fake:
        conn.send(url(fake))
        conn.recv()
        conn.send(dict(max_inflight=fake.max_inflight,
                       calls=len(fake.generate_calls())))


def throughput(root: str, args, concurrency: int) -> dict:
    # The server runs in its own process, as the real API runs elsewhere:
    # in-process it would compete with the client for the GIL.
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(
        target=_serve, args=(child, args.latency, args.teacher), daemon=True)
    server.start()
    url = parent.recv()
    generator = PRIOR_GENERATORS.build(
        _generator_cfg(args.teacher, url, root, concurrency))
    clips = read_clip_list(osp.join(root, 'clips.csv'),
                           video_root=osp.join(root, 'video'))
    summary = run_generation(generator, clips,
                             osp.join(root, f'throughput{concurrency}.jsonl'),
                             progress=False, handle_signals=False)
    parent.send('stats')
    stats = parent.recv()
    server.join()
    ceiling = concurrency / args.latency
    return dict(concurrency=concurrency, clips=len(clips), ok=summary.ok,
                elapsed_s=round(summary.elapsed, 2),
                clips_per_s=round(summary.clips_per_second, 2),
                ceiling_clips_per_s=ceiling,
                fraction_of_ceiling=round(
                    summary.clips_per_second / ceiling, 3),
                server_max_inflight=stats['max_inflight'],
                server_calls=stats['calls'])


def _lines(path: str) -> int:
    if not osp.exists(path):
        return 0
    with open(path, 'rb') as f:
        return f.read().count(b'\n')


def kill_and_resume(root: str, args, sig: int) -> dict:
    store = osp.join(root, f'kill-{sig}', 'priors.jsonl')
    env = dict(os.environ, PYTHONPATH=REPO)
    server, write_config, url = TEACHERS[args.teacher]
    with server(latency=args.latency) as fake:
        config = write_config(
            osp.join(root, f'cfg_{sig}.py'), root, store, url(fake),
            max_concurrency=args.concurrency[-1], timeout_s=30)
        command = [sys.executable, osp.join(REPO, 'tools',
                                            'generate_priors.py'),
                   config, '--no-progress', '--no-embed']
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        while _lines(store) < args.clips // 4:
            if proc.poll() is not None:
                raise RuntimeError('the run ended before the kill')
            time.sleep(0.01)
        proc.send_signal(sig)
        proc.wait()
        ok_before = {k[0] for k, r in latest_records(store).items() if r.ok}
        calls_before = sum(fake.calls_per_clip().values())
        resumed = subprocess.run(command + ['--resume'], env=env,
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        calls = fake.calls_per_clip()
    records = latest_records(store)
    return dict(signal=signal.Signals(sig).name, exit_code=proc.returncode,
                resume_exit_code=resumed.returncode,
                recorded_before_resume=len(ok_before),
                calls_before_resume=calls_before,
                calls_total=sum(calls.values()),
                duplicate_clips=sum(1 for c in calls.values() if c > 1),
                ok_clips_resent=sum(1 for n in ok_before if calls[n] > 1),
                ok_after_resume=sum(r.ok for r in records.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--clips', type=int, default=200)
    parser.add_argument('--latency', type=float, default=0.5)
    parser.add_argument('--concurrency', type=int, nargs='+', default=[16])
    parser.add_argument('--teacher', choices=sorted(TEACHERS),
                        default='gemini')
    parser.add_argument('--no-kill', action='store_true',
                        help='measure throughput only')
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args()
    os.environ.pop('GOOGLE_API_KEY', None)
    os.environ['GEMINI_API_KEY'] = KEY  # the fake servers accept any key
    os.environ['OPENAI_API_KEY'] = KEY
    with tempfile.TemporaryDirectory() as root:
        names = [f'clip{i:05d}' for i in range(args.clips)]
        make_clips(root, names)
        if args.teacher == 'openai':
            write_frames(root, names, count=2)
        sweep = [throughput(root, args, c) for c in args.concurrency]
        results = dict(settings=vars(args),
                       throughput=sweep[0] if len(sweep) == 1 else sweep)
        if not args.no_kill:
            results.update(
                kill_sigterm=kill_and_resume(root, args, signal.SIGTERM),
                kill_sigkill=kill_and_resume(root, args, signal.SIGKILL))
    print(json.dumps(results, indent=1))
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
