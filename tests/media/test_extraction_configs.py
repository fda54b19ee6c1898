"""The shipped extraction configs: the tiny demo runs as documented, the
MER2024 recipe is well formed, and importing the raw-media code stays light."""
import json
import os
import os.path as osp
import subprocess
import sys

from mmengine.config import Config

from mer_toolbox.media.demo_assets import make_demo
from mer_toolbox.media.runner import CONFIG_KEYS
from mer_toolbox.registry import ENCODERS
from media_fixtures import hub_offline, tiny_models  # noqa: F401 fixtures

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs', 'extraction')


def test_mer2024_recipe_is_well_formed():
    cfg = Config.fromfile(osp.join(CONFIGS, 'mer2024.py')).to_dict()
    sections = {k for k, v in cfg.items() if isinstance(v, (dict, list))}
    assert sections <= set(CONFIG_KEYS)
    from mer_toolbox.models.encoders import raw  # noqa: F401 registers
    encoders = [s['encoder'] for s in cfg['feature_sets']]
    assert [e['pretrained'] for e in encoders] == [
        'openai/clip-vit-large-patch14', 'TencentGameMate/chinese-hubert-large',
        'bigscience/bloom-7b1']
    for enc in encoders:
        assert ENCODERS.get(enc['type']).modality in ('video', 'audio', 'text')
    assert [s['name'] for s in cfg['feature_sets']] == [
        'clip-vit-large-patch14', 'chinese-hubert-large', 'bloom-7b1']


def test_tiny_demo_runs_as_documented(tmp_path, monkeypatch, tiny_models):
    """`python -m mer_toolbox.media.demo_assets work_dirs/tiny_demo` then the tool."""
    monkeypatch.chdir(tmp_path)
    models = tmp_path / 'work_dirs' / 'tiny_demo' / 'models'
    models.mkdir(parents=True)
    names = dict(clip='tiny-clip', hubert='tiny-hubert', bloom='tiny-bloom',
                 timm='tiny-vit')
    for kind, name in names.items():  # reuse the session's checkpoints
        os.symlink(tiny_models[kind], models / name)
    make_demo('work_dirs/tiny_demo', num_clips=2,
              models={k: str(models / n) for k, n in names.items()})
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'extract_features.py'),
         osp.join(CONFIGS, 'tiny_demo.py'), '--pack', '--no-progress'],
        capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / 'work_dirs' / 'tiny_demo_features' /
                          'summary.json').read_text())
    assert (summary['ok'], summary['failed']) == (2, 0)
    assert (tmp_path / 'work_dirs' / 'tiny_demo_features_packed' /
            'tiny-clip-FRA' / 'packed.json').is_file()


def test_importing_raw_media_code_loads_no_heavy_library():
    code = (
        'import sys, mer_toolbox.models\n'
        'before = set(sys.modules)\n'
        'import mer_toolbox.media, mer_toolbox.models.encoders.raw\n'
        'import mer_toolbox.media.detectors  # registering loads no model\n'
        "heavy = ('av', 'cv2', 'dlib', 'timm', 'transformers', 'tokenizers')\n"
        'print(sorted(m for m in heavy if m in sys.modules and m not in before))\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == '[]', out.stdout + out.stderr
