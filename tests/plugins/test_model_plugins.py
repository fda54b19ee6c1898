"""The model plugin example trains through the unchanged tools."""
import os
import os.path as osp
import shutil

from mer_test_utils import REPO, run_tool, write_tiny_config


def test_model_plugins_train_and_test_via_custom_imports(tmp_path,
                                                         tiny_demo_root):
    # the plugin module sits next to the config: found without PYTHONPATH
    shutil.copy(osp.join(REPO, 'examples', 'plugins', 'my_model_plugins.py'),
                tmp_path)
    cfg = write_tiny_config(
        str(tmp_path / 'cfg.py'), tiny_demo_root,
        base=osp.join('..', 'examples', 'plugins', 'my_model_config.py'),
        max_epochs=1)
    env = dict(PYTHONPATH=os.environ.get('PYTHONPATH', ''))
    work = str(tmp_path / 'work')
    proc = run_tool(['tools/train.py', cfg, '--work-dir', work], env=env)
    log = proc.stdout + proc.stderr
    # the config dump is in the log file the console names, not on it
    marker = 'environment, config and hook order: '
    log_file = log.split(marker)[1].split('\n')[0].strip()
    with open(log_file, encoding='utf-8') as f:
        full_log = f.read()
    for name in ('ResidualMLPEncoder', 'GatedSumFusionNeck', 'CosineClsHead',
                 'FocalLoss'):
        assert name in full_log  # the dumped config names every plugin
        assert name not in log.split('Epoch(train)')[0]
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
