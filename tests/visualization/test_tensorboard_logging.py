"""TensorBoard logging switched on from the config (configs/_base_/tensorboard.py)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mer_test_utils import REPO, run_tool, write_tiny_config

BACKENDS = ['LocalVisBackend', 'TensorboardVisBackend']


def write_recipe(path):
    """The demo recipe with _base_/tensorboard.py in place of default_runtime.py."""
    bases = [osp.join(REPO, 'configs', '_base_', p) for p in (
        'tensorboard.py', 'datasets/mer_demo.py', 'models/attention_fusion.py',
        'schedules/adam_80e.py')]
    with open(path, 'w', encoding='utf-8') as f:
        f.write(f'_base_ = {bases!r}\n')
    return str(path)


def test_documented_override_of_an_existing_recipe_parses(tmp_path):
    path = tmp_path / 'tb.py'
    path.write_text(f"_base_ = [{osp.join(REPO, 'configs', 'bdcl_stage1.py')!r}]\n"
                    "visualizer = dict(vis_backends=[dict(type='LocalVisBackend'), "
                    "dict(type='TensorboardVisBackend')])\n")
    cfg = Config.fromfile(str(path))
    assert [b['type'] for b in cfg.visualizer.vis_backends] == BACKENDS
    base = Config.fromfile(write_recipe(tmp_path / 'recipe.py'))
    assert [b['type'] for b in base.visualizer.vis_backends] == BACKENDS


@pytest.mark.slow
def test_one_epoch_writes_tensorboard_events(tmp_path, tiny_demo_root):
    pytest.importorskip('tensorboard', reason='tensorboard is not installed '
                        '(pip install tensorboard; listed in requirements/tests.txt)')
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), tiny_demo_root,
                            base=write_recipe(tmp_path / 'recipe.py'), max_epochs=1)
    work = str(tmp_path / 'work')
    run_tool(['tools/train.py', cfg, '--work-dir', work])
    events = glob.glob(osp.join(work, '*', 'vis_data', 'events.out.tfevents.*'))
    assert len(events) == 1, events
    acc = EventAccumulator(events[0])
    acc.Reload()
    tags = acc.Tags()['scalars']
    assert {'loss', 'loss_cls', 'lr', 'emotion/waf'} <= set(tags)
    waf = acc.Scalars('emotion/waf')
    assert [e.step for e in waf] == [1] and 0 <= waf[0].value <= 100
    # The local JSON log is still there for tools/analysis.
    assert glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
