"""A generation run killed midway, then resumed, pays for no clip twice.

The tool runs in a subprocess against a fake server (with latency, so the
kill lands while calls are in flight); the server counts calls per clip.
Both API teachers: Gemini, and an OpenAI-compatible server with a key.
"""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
from fake_gemini import FakeGemini
from fake_openai import FakeOpenAI, write_frames
from prior_testutils import (CANARY_KEY, REPO, make_clips, run_tool,
                             tool_env, write_gemini_config,
                             write_openai_config)

from mer_toolbox.fileio.prior_store import iter_records, latest_records

TOOL = osp.join(REPO, 'tools', 'generate_priors.py')
NAMES = [f'k{i:02d}' for i in range(32)]
CONCURRENCY = 4


def _lines(path: str) -> int:
    if not osp.exists(path):
        return 0
    with open(path, 'rb') as f:
        return f.read().count(b'\n')


def _start(config: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, TOOL, config, '--no-progress', *args], cwd=REPO,
        env=tool_env(GEMINI_API_KEY=CANARY_KEY, OPENAI_API_KEY=CANARY_KEY),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)


def _kill_after(proc: subprocess.Popen, store: str, records: int,
                sig: int) -> str:
    deadline = time.monotonic() + 60
    while _lines(store) < records:
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, 'no progress'
        time.sleep(0.02)
    proc.send_signal(sig)
    return proc.communicate(timeout=60)[0]


#: teacher -> (fake server, config writer, URL the config points at)
TEACHERS = {
    'gemini': (FakeGemini, write_gemini_config, lambda fake: fake.url),
    'openai': (FakeOpenAI, write_openai_config, lambda fake: fake.base_url),
}


@pytest.fixture(params=sorted(TEACHERS))
def teacher(request, canary_key, monkeypatch):
    """Each API teacher's (server class, setup) with the canary key set."""
    monkeypatch.setenv('OPENAI_API_KEY', CANARY_KEY)
    server, write_config, url = TEACHERS[request.param]

    def setup(tmp_path, fake):
        make_clips(str(tmp_path), NAMES)
        write_frames(str(tmp_path), NAMES, count=1)
        store = str(tmp_path / 'out' / 'priors.jsonl')
        config = write_config(str(tmp_path / 'cfg.py'), str(tmp_path), store,
                              url(fake), max_concurrency=CONCURRENCY)
        return store, config
    return server, setup


def test_sigterm_then_resume_sends_every_clip_once(tmp_path, teacher,
                                                   capsys):
    server, setup = teacher
    with server(latency=0.15) as fake:
        store, config = setup(tmp_path, fake)
        out1 = _kill_after(_start(config), store, 8, signal.SIGTERM)
        before = {k[0] for k, r in latest_records(store).items() if r.ok}
        assert 8 <= len(before) < len(NAMES), out1
        assert 'INTERRUPTED' in out1 and '--resume' in out1

        assert run_tool([config, '--resume', '--no-progress']) == 0
        out2 = capsys.readouterr()
        calls = fake.calls_per_clip()

    # The first signal drains the calls in flight into the store, so the
    # resumed run sends exactly the clips that were never sent.
    assert calls == {name: 1 for name in NAMES}
    records = list(iter_records(store))
    assert sorted(r.name for r in records) == NAMES and all(
        r.ok for r in records)
    # The key went to the server only: not to output, store, log, config
    # dump or embedding cache.
    for text in (out1, out2.out, out2.err):
        assert CANARY_KEY not in text
    for root, _, files in os.walk(tmp_path / 'out'):
        for name in files:
            with open(osp.join(root, name), 'rb') as f:
                assert CANARY_KEY.encode() not in f.read(), name
    assert osp.isfile(store + '.config.py') and osp.isdir(store + '.emb')


def test_sigkill_then_resume_never_resends_an_ok_clip(tmp_path, teacher):
    server, setup = teacher
    with server(latency=0.15) as fake:
        store, config = setup(tmp_path, fake)
        proc = _start(config)
        _kill_after(proc, store, 8, signal.SIGKILL)
        assert proc.returncode == -signal.SIGKILL
        before = {k[0] for k, r in latest_records(store).items() if r.ok}
        with open(store, 'ab') as f:  # as if killed in the middle of a write
            f.write(b'{"name": "k99", "teacher": "gem')
        assert {k[0] for k in latest_records(store)} == before

        assert run_tool([config, '--resume', '--no-progress']) == 0
        calls = fake.calls_per_clip()

    assert all(calls[name] == 1 for name in before)
    duplicates = [n for n, c in calls.items() if c > 1]
    # Only calls in flight at the kill can have been sent twice.
    assert len(duplicates) <= CONCURRENCY
    with open(store, encoding='utf-8') as f:
        lines = [json.loads(line) for line in f]  # torn line was cut
    assert sorted(line['name'] for line in lines) == NAMES
