"""tools/infer.py runs on a model trained on the embedded demo data, with
the encoders of configs/extraction/mer_demo.py (as docs/inference.md says)."""
import json
import os.path as osp

import torch
from mmengine.config import Config

from mer_test_utils import REPO, run_tool, write_tiny_config
from mer_toolbox.datasets.demo import DEMO_FEATURE_DIMS
from mer_toolbox.media.demo_assets import DEMO_MATCHED_DIMS, make_demo
from mer_toolbox.registry import DATASETS, MODELS


def test_demo_matched_sizes_are_the_demo_feature_sizes():
    assert (DEMO_MATCHED_DIMS['clip'], DEMO_MATCHED_DIMS['hubert'],
            DEMO_MATCHED_DIMS['bloom']) == (DEMO_FEATURE_DIMS['video'],
                                            DEMO_FEATURE_DIMS['audio'],
                                            DEMO_FEATURE_DIMS['text'])


def demo_checkpoint(tmp_path, data_root):
    """What tools/train.py configs/bdcl_stage1.py saves, minus the training."""
    cfg = Config.fromfile(write_tiny_config(str(tmp_path / 'demo.py'),
                                            data_root))
    model = MODELS.build(cfg.model)
    val = DATASETS.build(cfg.val_dataloader.dataset)
    model.fit_input_norms({m: val.feature_statistics(m)
                           for m in model.modalities})
    path = str(tmp_path / 'best.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return cfg.filename, path


def test_infer_runs_right_after_the_demo(tmp_path, tiny_demo_root):
    assets = tmp_path / 'infer_demo'
    make_demo(str(assets), num_clips=1,
              out_dims=DEMO_MATCHED_DIMS)  # --match-demo-features
    with open(osp.join(REPO, 'configs', 'extraction', 'mer_demo.py')) as f:
        text = f.read().replace("'work_dirs/infer_demo", f"'{assets}")
    extract_cfg = tmp_path / 'mer_demo.py'
    extract_cfg.write_text(text)
    config, checkpoint = demo_checkpoint(tmp_path, tiny_demo_root)
    out = tmp_path / 'result.json'
    proc = run_tool([
        'tools/infer.py', config, checkpoint,
        str(assets / 'clips' / 'clip_000.mp4'), '--extract-config',
        str(extract_cfg), '--subtitle', 'I am so happy today!',
        '--feature-map', 'video=demo-video-UTT', 'audio=demo-audio-UTT',
        'text=demo-text-UTT', '--json', str(out)])
    assert 'emotion:' in proc.stdout
    result = json.loads(out.read_text())
    # the default's concatenation fusion has no per-clip modality weights
    assert result['modality_weights'] is None
    assert abs(sum(result['scores'].values()) - 1) < 1e-4
