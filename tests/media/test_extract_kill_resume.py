"""SIGKILL during tools/extract_features.py, then --resume: finished clips are
not redone, the rest are done, and no truncated feature file is accepted."""
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
