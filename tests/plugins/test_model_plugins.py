"""The model plugin example trains through the unchanged tools."""
import os
import os.path as osp

from mer_test_utils import REPO, run_tool, write_tiny_config


def test_model_plugins_train_and_test_via_custom_imports(tmp_path,
                                                         tiny_demo_root):
    cfg = write_tiny_config(
        str(tmp_path / 'cfg.py'), tiny_demo_root,
        base=osp.join('..', 'examples', 'plugins', 'my_model_config.py'),
        max_epochs=1)
    env = dict(PYTHONPATH=os.pathsep.join(
        [osp.join(REPO, 'examples', 'plugins'),
         os.environ.get('PYTHONPATH', '')]))
    work = str(tmp_path / 'work')
    proc = run_tool(['tools/train.py', cfg, '--work-dir', work], env=env)
    log = proc.stdout + proc.stderr
    for name in ('ResidualMLPEncoder', 'GatedSumFusionNeck', 'CosineClsHead',
                 'FocalLoss'):
        assert name in log  # the dumped config names every plugin
    assert 'emotion/waf' in log
    proc = run_tool(['tools/test.py', cfg, osp.join(work, 'epoch_1.pth'),
                     '--work-dir', work], env=env)
    assert 'confusion matrix' in proc.stdout + proc.stderr


def test_without_the_import_the_typo_style_error_names_the_registry(
        tmp_path, tiny_demo_root):
    cfg = write_tiny_config(
        str(tmp_path / 'cfg.py'), tiny_demo_root,
        base=osp.join('..', 'examples', 'plugins', 'my_model_config.py'),
        max_epochs=1, extra='custom_imports = None')
    proc = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')],
                    check=False)
    assert proc.returncode != 0
    assert 'ResidualMLPEncoder' in proc.stderr and 'encoder' in proc.stderr
