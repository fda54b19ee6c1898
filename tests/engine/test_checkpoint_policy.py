"""The checkpoint loading policy: safe by default, trusted only on request."""
import os

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

from mer_toolbox.engine import (UnsafeCheckpointError, load_checkpoint_file,
                                trust_checkpoints)


class _Payload:
    """Pickles as a call to os.system: the classic malicious checkpoint."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def test_mmengine_style_checkpoint_loads_on_the_safe_path(tmp_path):
    hub = MessageHub.get_instance('ckpt-policy-test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_info('arr', np.arange(3))
    path = str(tmp_path / 'ok.pth')
    torch.save(dict(meta=dict(epoch=np.int64(2), classes=('a', 'b')),
                    state_dict={'w': torch.ones(2)},
                    message_hub=hub.state_dict()), path)
    ckpt = load_checkpoint_file(path)
    assert ckpt['meta']['epoch'] == 2
    assert ckpt['message_hub']['log_scalars']['train/loss'].current() == 1.5


def test_malicious_pickle_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'x': _Payload(str(marker))}, path)
    with pytest.raises(UnsafeCheckpointError, match=r'system'):
        load_checkpoint_file(path)
    assert not marker.exists()


def test_getattr_gadget_is_refused(tmp_path):
    class Gadget:
        def __reduce__(self):
            # getattr on an allowed type, reaching for a method: refused
            return (getattr, (str, 'join'))
    path = str(tmp_path / 'gadget.pth')
    torch.save({'x': Gadget()}, path)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_file(path)


def test_trusted_path_is_opt_in(tmp_path):
    marker = tmp_path / 'ran'
    path = str(tmp_path / 'custom.pth')
    torch.save({'x': _Payload(str(marker))}, path)
    try:
        trust_checkpoints(True)
        load_checkpoint_file(path)
    finally:
        trust_checkpoints(False)
    assert marker.exists()  # full pickle really is full pickle


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))


def test_runner_loads_through_the_safe_loader(tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'x': _Payload(str(marker))}, path)
    import mer_toolbox.engine  # noqa: F401  (registers the loader)
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert not marker.exists()
