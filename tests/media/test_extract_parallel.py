"""Sharded extraction (torchrun, 2 CPU ranks) and DataLoader decode workers
write the same features, logs and summary as one plain process; resume works
across world sizes; --pack runs once."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import numpy as np
import pytest

from mer_toolbox.fileio.feature_store import open_feature_store
from media_fixtures import hub_offline, media_dir, tiny_models  # noqa: F401
from test_extract_features_tool import TOOL, read_jsonl, tool_main, write_config

SETS = ('tiny-clip-UTT', 'tiny-clip-FRA', 'tiny-hubert-UTT', 'tiny-bloom-UTT')
# what must not depend on the number of ranks or decode workers
SAME_KEYS = ('clips', 'ok', 'failed', 'skipped_done', 'failures_by_reason',
             'warnings_by_reason', 'feature_sets', 'face_coverage', 'exit_code')


def clip_rows(media_dir, good=6):
    rows = [(f'c{i}', str(media_dir / 'good.mp4')) for i in range(good)]
    return rows + [('no_audio', media_dir / 'silent.mp4'),
                   ('corrupt', media_dir / 'garbage.mp4'),
                   ('missing', media_dir / 'nowhere.mp4')]


def subtitles(rows):
    # different texts: a clip written under another clip's name would show
    return {n: f'words of clip {n}' for n, _ in rows if n != 'c1'}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def torchrun(args, nproc=2, script=False):
    """The tool under torchrun, directly or through tools/dist_extract.sh."""
    env = dict(os.environ, OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1',
               PORT=str(free_port()),
               PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    launch = (['bash', osp.join(osp.dirname(TOOL), 'dist_extract.sh'), args[0],
               str(nproc)] if script else
              [sys.executable, '-m', 'torch.distributed.run',
               f'--nproc-per-node={nproc}', f"--master-port={env['PORT']}",
               TOOL, args[0]])
    return subprocess.run(launch + args[1:] + ['--no-progress'], env=env,
                          capture_output=True, text=True, timeout=300)


def assert_same_store(a, b, atol=1e-5):
    for folder in SETS:
        names = sorted(os.listdir(osp.join(a, folder)))
        assert names == sorted(os.listdir(osp.join(b, folder))), folder
        for name in names:
            np.testing.assert_allclose(np.load(osp.join(a, folder, name)),
                                       np.load(osp.join(b, folder, name)),
                                       atol=atol, rtol=0,
                                       err_msg=f'{folder}/{name}')


def summary_of(root):
    with open(osp.join(root, 'summary.json'), encoding='utf-8') as f:
        return json.load(f)


def test_decode_workers_match_decoding_in_process(tmp_path, tiny_models,
                                                  media_dir):
    rows = clip_rows(media_dir)
    cfg = write_config(tmp_path, tiny_models, rows, subtitles(rows))
    one, two = str(tmp_path / 'w0'), str(tmp_path / 'w2')
    assert tool_main([cfg, '--root', one]) == 1
    assert tool_main([cfg, '--root', two, '--num-workers', '2']) == 1
    assert_same_store(one, two, atol=0)
    for log in ('failures.jsonl', 'warnings.jsonl'):
        assert read_jsonl(osp.join(one, log)) == read_jsonl(osp.join(two, log))
    s0, s2 = summary_of(one), summary_of(two)
    assert {k: s0[k] for k in SAME_KEYS} == {k: s2[k] for k in SAME_KEYS}
    assert s2['failures_by_reason'] == {'corrupt file': 1, 'missing subtitle':
                                        1, 'no audio stream': 1,
                                        'unreadable path': 1}
    # the workers' decode time still reaches the summary
    assert s2['timings']['decode_video'] > 0 and s2['timings']['faces'] > 0


@pytest.mark.slow
def test_two_ranks_match_one_process_then_resume_with_two(
        tmp_path, tiny_models, media_dir):
    rows = clip_rows(media_dir)
    cfg = write_config(tmp_path, tiny_models, rows, subtitles(rows))
    # durations: the share of the long clip is balanced by several short ones
    listing = tmp_path / 'clips.csv'
    listing.write_text('name,path,duration\n' + ''.join(
        f'{n},{p},{30 if n == "c0" else ""}\n' for n, p in rows))
    plain, sharded = str(tmp_path / 'plain'), str(tmp_path / 'sharded')
    assert tool_main([cfg, '--root', plain]) == 1
    run = torchrun([cfg, '--root', sharded, '--pack', '--num-workers', '1'])
    assert run.returncode == 1, run.stderr[-4000:]  # 1: some clips failed
    assert_same_store(plain, sharded)
    for log in ('failures.jsonl', 'warnings.jsonl'):
        assert read_jsonl(osp.join(plain, log)) == read_jsonl(
            osp.join(sharded, log))
    one, two = summary_of(plain), summary_of(sharded)
    assert {k: one[k] for k in SAME_KEYS} == {k: two[k] for k in SAME_KEYS}
    assert two['world_size'] == 2 and len(two['ranks']) == 2
    # disjoint shares: the ranks' clip counts add up to the list, none idle
    assert sum(r['clips'] for r in two['ranks']) == len(rows)
    assert min(r['clips'] for r in two['ranks']) >= 1
    assert not [f for f in os.listdir(sharded) if '.rank' in f]
    # one rank packed, once, every folder
    log = run.stdout + run.stderr
    for folder in SETS:
        assert log.count(f'packed {folder}:') == 1, folder
        npy = open_feature_store(osp.join(sharded, folder))
        packed = open_feature_store(str(tmp_path / 'sharded_packed' / folder))
        assert packed.layout == 'packed'
        assert sorted(packed.names()) == sorted(npy.names())
        for name in npy.names():
            np.testing.assert_array_equal(packed.load(name), npy.load(name))

    # resume the 1-process run with 2 ranks (through tools/dist_extract.sh):
    # only the lost files are redone
    os.remove(osp.join(plain, 'tiny-hubert-UTT', 'c2.npy'))
    cut = osp.join(plain, 'tiny-clip-FRA', 'c3.npy')
    with open(cut, 'r+b') as f:
        f.truncate(os.path.getsize(cut) - 8)
    kept = osp.join(plain, 'tiny-bloom-UTT', 'c3.npy')
    before = os.stat(kept).st_mtime_ns
    run = torchrun([cfg, '--root', plain, '--resume'], script=True)
    assert run.returncode == 1, run.stderr[-4000:]
    again = summary_of(plain)
    # c2 and c3 redone; the 4 failing clips (c1: no subtitle) retried;
    # c0, c4, c5 skipped
    assert (again['skipped_done'], again['ok'], again['failed']) == (3, 2, 4)
    assert again['feature_sets']['tiny-hubert'] == {'ok': 1, 'failed': 3}
    assert os.stat(kept).st_mtime_ns == before
    assert_same_store(plain, sharded)
