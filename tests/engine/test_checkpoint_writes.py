"""Checkpoint files are all-or-nothing; a moved work dir resumes."""
import errno
import glob
import importlib.util
import os
import os.path as osp
import shutil

import pytest
import torch
from mmengine.runner.checkpoint import save_checkpoint

import mer_toolbox.engine  # noqa: F401  (registers the atomic backend)
from mer_test_utils import REPO, disk_full, write_tiny_config
from mer_toolbox.engine import load_checkpoint_file, resolve_checkpoint
from mer_toolbox.engine.stage_checkpoint import read_last_checkpoint


def test_disk_full_leaves_no_file_under_the_checkpoint_name(tmp_path):
    path = tmp_path / 'best_emotion_waf_epoch_1.pth'
    with disk_full(100), pytest.raises(OSError) as info:
        # what Runner.save_checkpoint calls
        save_checkpoint({'state_dict': {'w': torch.ones(1000)}}, str(path))
    assert info.value.errno == errno.ENOSPC
    assert 'best_emotion_waf_epoch_1.pth' in str(info.value)
    assert os.listdir(tmp_path) == []  # no torn file, no temporary left


def test_a_good_write_replaces_the_old_file_in_one_step(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    path.write_bytes(b'old')
    save_checkpoint({'state_dict': {'w': torch.ones(3)}}, str(path))
    assert torch.equal(load_checkpoint_file(str(path))['state_dict']['w'],
                       torch.ones(3))
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def train(argv):
    spec = importlib.util.spec_from_file_location(
        'train_tool', osp.join(REPO, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main([str(a) for a in argv] + ['--no-test'])


@pytest.fixture(scope='module')
def one_epoch(tmp_path_factory, tiny_demo_root):
    tmp = tmp_path_factory.mktemp('one_epoch')
    cfg = write_tiny_config(str(tmp / 'c.py'), tiny_demo_root, max_epochs=1,
                            keep_best=True)
    work = tmp / 'work'
    train([cfg, '--work-dir', work])
    return tmp, cfg, work


def test_last_checkpoint_is_relative_and_a_moved_work_dir_resumes(
        one_epoch, tiny_demo_root):
    tmp, _, work = one_epoch
    assert (work / 'last_checkpoint').read_text() == 'epoch_1.pth'
    moved = tmp / 'moved'
    shutil.copytree(work, moved)
    cfg2 = write_tiny_config(str(tmp / 'c2.py'), tiny_demo_root, max_epochs=2)
    train([cfg2, '--work-dir', moved, '--resume'])
    assert load_checkpoint_file(str(moved / 'epoch_2.pth'))['meta'][
        'epoch'] == 2
    assert not (work / 'epoch_2.pth').exists()  # the original is untouched
    # and keeps its best checkpoint (MMEngine restores the best's absolute
    # path on resume and would delete the original when the copy improves)
    assert (work / 'best.pth').is_file()
    assert os.readlink(work / 'best.pth') == 'best_emotion_waf_epoch_1.pth'


def test_old_absolute_last_checkpoint_falls_back_to_the_work_dir(one_epoch):
    tmp, _, work = one_epoch
    moved = tmp / 'moved_old'
    shutil.copytree(work, moved)
    (moved / 'last_checkpoint').write_text('/gone/away/epoch_1.pth')
    assert read_last_checkpoint(str(moved)) == str(moved / 'epoch_1.pth')


def test_disk_full_while_training_names_the_file_and_leaves_no_torn_best(
        one_epoch):
    tmp, cfg, _ = one_epoch
    work = tmp / 'full'
    with disk_full(64, only='best_'), \
            pytest.raises(OSError, match='best_emotion_waf_epoch_1.pth'):
        train([cfg, '--work-dir', work])
    assert glob.glob(str(work / 'best_*')) == []
    assert not glob.glob(str(work / '.tmp-*'))
    # stage 2 pointed at this work dir gets the intact last checkpoint
    assert resolve_checkpoint(str(work)) == str(work / 'epoch_1.pth')


def test_best_pth_names_the_best_checkpoint_after_training(one_epoch):
    _, _, work = one_epoch
    best = work / 'best.pth'
    assert best.is_symlink()
    assert os.readlink(best) == 'best_emotion_waf_epoch_1.pth'  # relative
    assert resolve_checkpoint(str(work)) == str(best)
    assert load_checkpoint_file(str(best))['meta']['epoch'] == 1


def test_default_recipe_keeps_the_final_model_as_its_result(
        tmp_path, tiny_demo_root):
    # no best-by-validation pick: the work dir resolves to the last epoch
    cfg = write_tiny_config(str(tmp_path / 'c.py'), tiny_demo_root,
                            max_epochs=2)
    work = tmp_path / 'work'
    train([cfg, '--work-dir', work])
    assert not glob.glob(str(work / 'best*'))
    assert resolve_checkpoint(str(work)) == str(work / 'epoch_2.pth')
    assert load_checkpoint_file(resolve_checkpoint(str(work)))['meta'][
        'epoch'] == 2
