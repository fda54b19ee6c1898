"""Checkpoints named by a URL or a zoo scheme load on the safe path too."""
import pytest
import torch
from mmengine.runner import checkpoint as mmckpt
from mmengine.runner.checkpoint import CheckpointLoader

from mer_test_utils import FileServer, MaliciousPickle
from mer_toolbox.engine import UnsafeCheckpointError, load_checkpoint_file
from mer_toolbox.engine.checkpoint import use_safe_checkpoint_loader
from mer_toolbox.engine.checkpoint_sources import (RemoteCheckpointError,
                                                   is_remote)


@pytest.fixture(autouse=True)
def safe_loader():
    use_safe_checkpoint_loader()  # what build_runner does


@pytest.fixture
def served(tmp_path, monkeypatch):
    """``evil.pth`` (a payload) and ``ok.pth`` behind a local server; the
    download cache under ``tmp_path/torch_home``."""
    files = tmp_path / 'served'
    files.mkdir()
    marker = tmp_path / 'pwned'
    torch.save({'state_dict': {}, 'x': MaliciousPickle(str(marker))},
               files / 'evil.pth')
    torch.save({'state_dict': {'w': torch.ones(2)}}, files / 'ok.pth')
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    with FileServer(str(files)) as server:
        yield server, marker


def test_every_mmengine_scheme_uses_the_safe_loader():
    assert CheckpointLoader._schemes  # MMEngine's set, all replaced
    for prefix, loader in CheckpointLoader._schemes.items():
        assert loader.__name__ == 'load_from_mer_safe_loader', prefix
        example = prefix.replace(r'(\S+\:)?', '') + 'bucket/x.pth'
        assert prefix == '' or is_remote(example), prefix


def test_http_payload_is_refused_without_running(served):
    server, marker = served
    with pytest.raises(UnsafeCheckpointError, match='evil.pth.*system'):
        CheckpointLoader.load_checkpoint(f'{server.url}/evil.pth', 'cpu')
    assert not marker.exists()


def test_http_checkpoint_is_downloaded_then_loaded(served):
    server, _ = served
    ckpt = load_checkpoint_file(f'{server.url}/ok.pth')
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))


@pytest.mark.parametrize('scheme,table', [
    ('torchvision://', 'get_torchvision_models'),
    ('modelzoo://', 'get_torchvision_models'),
    ('open-mmlab://', 'get_external_models'),
    ('openmmlab://', 'get_external_models'),
    ('mmcls://', 'get_mmcls_models')])
def test_zoo_schemes_resolve_to_a_download_on_the_safe_path(
        served, monkeypatch, scheme, table):
    server, marker = served
    monkeypatch.setattr(mmckpt, table,
                        lambda: {'evil_net': f'{server.url}/evil.pth'})
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(f'{scheme}evil_net', 'cpu')
    assert not marker.exists()
    with pytest.raises(RemoteCheckpointError, match="no model named 'nope'"):
        CheckpointLoader.load_checkpoint(f'{scheme}nope', 'cpu')


@pytest.mark.parametrize('name', ['s3://bucket/x.pth',
                                  'cluster:s3://bucket/x.pth',
                                  'petrel://bucket/x.pth',
                                  'pavi://project/x.pth'])
def test_unfetchable_schemes_are_refused_clearly(name, tmp_path,
                                                 monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    with pytest.raises(RemoteCheckpointError, match=name.split('/')[0]):
        CheckpointLoader.load_checkpoint(name, 'cpu')


def test_failed_download_names_the_url(served):
    server, _ = served
    with pytest.raises(RemoteCheckpointError, match='missing.pth'):
        load_checkpoint_file(f'{server.url}/missing.pth')
