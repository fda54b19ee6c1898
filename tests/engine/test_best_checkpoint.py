"""``best.pth``: the stable name of the best checkpoint, and how tools
resolve ``best`` / ``last`` / a work dir."""
import os

import pytest

from mer_toolbox.engine.hooks.checkpoint_hook import link_best_checkpoint
from mer_toolbox.engine.stage_checkpoint import (resolve_checkpoint,
                                                 resolve_checkpoint_argument)


def write(path, data=b'x'):
    path.write_bytes(data)
    return str(path)


def test_link_follows_the_best_and_is_replaced_in_place(tmp_path):
    first = write(tmp_path / 'best_emotion_waf_epoch_1.pth', b'one')
    link = link_best_checkpoint(first)
    assert link == str(tmp_path / 'best.pth')
    second = write(tmp_path / 'best_emotion_waf_epoch_7.pth', b'seven')
    os.remove(first)  # MMEngine drops the previous best
    link_best_checkpoint(second)
    assert os.readlink(link) == 'best_emotion_waf_epoch_7.pth'
    assert open(link, 'rb').read() == b'seven'
    assert sorted(os.listdir(tmp_path)) == [
        'best.pth', 'best_emotion_waf_epoch_7.pth']  # no temporary left


def test_link_falls_back_to_a_copy_without_symlinks(tmp_path, monkeypatch):
    def no_symlinks(*args):
        raise OSError('symlinks not supported')
    monkeypatch.setattr(os, 'symlink', no_symlinks)
    best = write(tmp_path / 'best_emotion_waf_epoch_2.pth', b'two')
    link = link_best_checkpoint(best)
    assert not os.path.islink(link) and open(link, 'rb').read() == b'two'


def test_work_dir_resolves_to_best_pth_first(tmp_path):
    write(tmp_path / 'best_emotion_waf_epoch_9.pth')
    link_best_checkpoint(write(tmp_path / 'best_emotion_waf_epoch_3.pth'))
    # best.pth wins over a newer best_* file left by another run
    assert resolve_checkpoint(str(tmp_path)) == str(tmp_path / 'best.pth')


def test_tool_argument_best_last_and_errors(tmp_path):
    write(tmp_path / 'epoch_4.pth')
    (tmp_path / 'last_checkpoint').write_text('epoch_4.pth')
    assert resolve_checkpoint_argument('last', str(tmp_path)) == str(
        tmp_path / 'epoch_4.pth')
    # no best yet: 'best' falls back to the last checkpoint of the work dir
    assert resolve_checkpoint_argument('best', str(tmp_path)) == str(
        tmp_path / 'epoch_4.pth')
    link_best_checkpoint(write(tmp_path / 'best_emotion_waf_epoch_2.pth'))
    assert resolve_checkpoint_argument('best', str(tmp_path)) == str(
        tmp_path / 'best.pth')
    with pytest.raises(FileNotFoundError, match='no valid last_checkpoint'):
        resolve_checkpoint_argument('last', str(tmp_path / 'empty'))
    with pytest.raises(FileNotFoundError, match='holds no checkpoint'):
        (tmp_path / 'none').mkdir()
        resolve_checkpoint_argument('best', str(tmp_path / 'none'))
