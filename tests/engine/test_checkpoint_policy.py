"""The checkpoint loading policy: safe by default, trusted only on request."""
import os

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

from mer_test_utils import REPO
from mer_toolbox.engine import (UnsafeCheckpointError, load_checkpoint_file,
                                use_safe_checkpoint_loader)


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
    load_checkpoint_file(path, trusted=True)
    assert marker.exists()  # full pickle really is full pickle


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))


def test_runner_loads_through_the_safe_loader(tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'x': _Payload(str(marker))}, path)
    use_safe_checkpoint_loader()  # what build_runner does
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert not marker.exists()


def test_trust_is_per_registration_not_a_module_switch(tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader
    marker = tmp_path / 'ran'
    path = str(tmp_path / 'custom.pth')
    torch.save({'state_dict': {}, 'x': _Payload(str(marker))}, path)
    try:
        use_safe_checkpoint_loader(trusted=True)  # --trust-checkpoint
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
        assert marker.exists()
        # a direct call is not widened by the Runner's setting
        with pytest.raises(UnsafeCheckpointError):
            load_checkpoint_file(path)
    finally:
        use_safe_checkpoint_loader()


def test_importing_the_package_leaves_mmengines_loader_alone():
    import subprocess
    import sys
    code = ('from mmengine.runner.checkpoint import CheckpointLoader as C\n'
            'before = dict(C._schemes)\n'
            'import mer_toolbox.engine, mer_toolbox.apis\n'
            'from mer_toolbox.engine.setup_env import register_all_modules\n'
            'register_all_modules()\n'
            'assert C._schemes == before, "import replaced the loader"\n'
            'mer_toolbox.engine.use_safe_checkpoint_loader()\n'
            'assert {f.__name__ for f in C._schemes.values()} == '
            '{"load_from_mer_safe_loader"}\n')
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
