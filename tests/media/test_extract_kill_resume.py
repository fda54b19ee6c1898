"""SIGKILL during tools/extract_features.py (one process, or one rank of a
torchrun job), then --resume: finished clips are not redone, the rest are
done, and no truncated feature file is accepted."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mer_toolbox.media import npy_complete
from media_fixtures import hub_offline, media_dir, tiny_models  # noqa: F401
from test_extract_features_tool import TOOL, write_config

pytestmark = pytest.mark.slow
SETS = ('tiny-clip-UTT', 'tiny-clip-FRA', 'tiny-hubert-UTT', 'tiny-bloom-UTT')


def done_clips(root, names):
    return [n for n in names
            if all(osp.exists(osp.join(root, s, f'{n}.npy')) for s in SETS)]


def test_kill_then_resume_redoes_nothing_finished(tmp_path, tiny_models,
                                                  media_dir):
    names = [f'c{i}' for i in range(8)]
    good = str(media_dir / 'good.mp4')
    cfg = write_config(tmp_path, tiny_models, [(n, good) for n in names],
                       {n: 'some words' for n in names})
    root = str(tmp_path / 'feats')
    env = dict(os.environ, OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1')
    proc = subprocess.Popen([sys.executable, TOOL, cfg, '--no-progress'],
                            env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while len(done_clips(root, names)) < 2:
        assert proc.poll() is None, 'the tool ended before it could be killed'
        assert time.time() < deadline, 'no clip finished in time'
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = done_clips(root, names)
    assert 2 <= len(finished) < len(names)
    mtimes = {(s, n): os.stat(osp.join(root, s, f'{n}.npy')).st_mtime_ns
              for n in finished for s in SETS}
    # every file on disk after the kill is complete (atomic writes)
    for s in SETS:
        for f in os.listdir(osp.join(root, s)):
            assert f.startswith('.tmp-') or npy_complete(osp.join(root, s, f))
    result = subprocess.run([sys.executable, TOOL, cfg, '--resume',
                             '--no-progress'], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / 'feats' / 'summary.json').read_text())
    assert summary['skipped_done'] == len(finished)
    assert summary['ok'] == len(names) - len(finished)
    for (s, n), before in mtimes.items():
        assert os.stat(osp.join(root, s, f'{n}.npy')).st_mtime_ns == before
    for n in names:
        for s in SETS:
            assert np.isfinite(np.load(osp.join(root, s, f'{n}.npy'))).all()


def child_with_rank(parent: int, rank: int):
    """Pid of the torchrun worker of ``rank`` (a child of ``parent``), or None."""
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{pid}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            if ppid != parent:
                continue
            with open(f'/proc/{pid}/environ', 'rb') as f:
                env = f.read().split(b'\0')
        except OSError:  # the process ended meanwhile
            continue
        if f'RANK={rank}'.encode() in env:
            return int(pid)
    return None


@pytest.mark.skipif(not osp.isdir('/proc'), reason='finds ranks through /proc')
def test_kill_one_rank_then_resume_with_one_process(tmp_path, tiny_models,
                                                    media_dir):
    from test_extract_features_tool import tool_main
    from test_extract_parallel import free_port
    names = [f'c{i}' for i in range(24)]
    good = str(media_dir / 'good.mp4')
    cfg = write_config(tmp_path, tiny_models, [(n, good) for n in names],
                       {n: 'some words' for n in names})
    root = str(tmp_path / 'feats')
    env = dict(os.environ, OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1')
    proc = subprocess.Popen(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node=2',
         f'--master-port={free_port()}', TOOL, cfg, '--no-progress'],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while len(done_clips(root, names)) < 2:
        assert proc.poll() is None, 'the run ended before a rank was killed'
        assert time.time() < deadline, 'no clip finished in time'
        time.sleep(0.05)
    victim = child_with_rank(proc.pid, 1)
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    assert proc.wait(timeout=120) != 0  # torchrun stops the other rank too
    finished = done_clips(root, names)
    assert 2 <= len(finished) < len(names)
    assert os.path.exists(osp.join(root, 'failures.rank1.jsonl'))
    mtimes = {(s, n): os.stat(osp.join(root, s, f'{n}.npy')).st_mtime_ns
              for n in finished for s in SETS}
    assert tool_main([cfg, '--resume']) == 0
    summary = json.loads((tmp_path / 'feats' / 'summary.json').read_text())
    assert summary['skipped_done'] == len(finished)
    assert summary['ok'] == len(names) - len(finished)
    assert summary['world_size'] == 1
    for (s, n), before in mtimes.items():
        assert os.stat(osp.join(root, s, f'{n}.npy')).st_mtime_ns == before
    assert done_clips(root, names) == names
    for n in names:
        for s in SETS:
            assert npy_complete(osp.join(root, s, f'{n}.npy'))
    # the killed run's per-rank logs are gone; one log remains
    assert not [f for f in os.listdir(root) if '.rank' in f]
