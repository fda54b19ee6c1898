"""Where a checkpoint named by a URL or a model-zoo scheme comes from.

MMEngine's ``CheckpointLoader`` knows many schemes (``http(s)://``,
``s3://``, ``open-mmlab://``, ``torchvision://``, ...) and loads each with
plain pickle, i.e. a file from a server runs code. mer_toolbox replaces every
one of them: :func:`fetch_checkpoint` turns the name into a local file (a
download into a cache folder), and the caller loads that file with the same
restricted unpickler as any local checkpoint. Schemes that cannot be fetched
to a file are refused with a clear error.
"""
import hashlib
import os
import os.path as osp
import re
from typing import Callable, Dict, Tuple
from urllib.parse import urlparse

HTTP = ('http://', 'https://')
ZOO = ('torchvision://', 'modelzoo://', 'open-mmlab://', 'openmmlab://',
       'mmcls://')
# regular expressions, as MMEngine registers them (a leading "name:" allowed)
OBJECT_STORE = (r'(\S+\:)?s3://', r'(\S+\:)?petrel://')
REFUSED = ('pavi://',)


class RemoteCheckpointError(RuntimeError):
    """A remote checkpoint cannot be fetched to a local file."""


def is_remote(name: str) -> bool:
    """Whether ``name`` is a URL / scheme rather than a local path."""
    return (name.startswith(HTTP + ZOO + REFUSED)
            or any(re.match(p, name) for p in OBJECT_STORE))


def cache_dir() -> str:
    """Download folder: ``$TORCH_HOME/hub/checkpoints`` (torch.hub's)."""
    import torch.hub
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def _cache_path(name: str) -> str:
    # the digest keeps two URLs ending in the same file name apart
    digest = hashlib.sha256(name.encode('utf-8')).hexdigest()[:16]
    base = osp.basename(urlparse(name).path) or 'checkpoint.pth'
    return osp.join(cache_dir(), f'{digest}-{base}')


def _download(url: str) -> str:
    from torch.hub import download_url_to_file
    path = _cache_path(url)
    if not osp.isfile(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
        try:
            # writes a temporary file and renames it when complete
            download_url_to_file(url, path, progress=False)
        except Exception as err:
            raise RemoteCheckpointError(
                f'cannot download checkpoint {url!r}: '
                f'{type(err).__name__}: {err}') from err
    return path


def _from_object_store(name: str) -> str:
    from mmengine.fileio import get_file_backend

    from ..fileio.atomic import write_bytes_atomic
    path = _cache_path(name)
    if not osp.isfile(path):
        try:
            data = get_file_backend(name, backend_args=dict(
                backend='petrel')).get(name)
        except Exception as err:
            raise RemoteCheckpointError(
                f'cannot fetch checkpoint {name!r}: {type(err).__name__}: '
                f'{err}') from err
        write_bytes_atomic(path, data)
    return path


def _zoo_url(name: str) -> str:
    from mmengine.runner import checkpoint as mmckpt
    prefix = next(p for p in ZOO if name.startswith(p))
    model = name[len(prefix):]
    tables: Dict[str, Callable[[], Dict[str, str]]] = {
        'torchvision://': mmckpt.get_torchvision_models,
        'modelzoo://': mmckpt.get_torchvision_models,
        'open-mmlab://': mmckpt.get_external_models,
        'openmmlab://': mmckpt.get_external_models,
        'mmcls://': mmckpt.get_mmcls_models,
    }
    urls = tables[prefix]()
    if prefix in ('open-mmlab://', 'openmmlab://'):
        model = mmckpt.get_deprecated_model_names().get(model, model)
    if model not in urls:
        raise RemoteCheckpointError(
            f'{name!r}: {prefix} has no model named {model!r}')
    return urls[model]


def fetch_checkpoint(name: str) -> Tuple[str, bool]:
    """A local file holding the checkpoint ``name`` (URL or zoo scheme).

    Under DDP rank 0 downloads first and the others read its cached file.

    Returns:
        ``(path, is_mmcls)``: the cached file, and whether it is an mmcls
        zoo checkpoint (whose keys MMEngine renames after loading).

    Raises:
        RemoteCheckpointError: unknown model name, a failed download, or a
            scheme that cannot be fetched to a file (``pavi://``).
    """
    if name.startswith(REFUSED):
        raise RemoteCheckpointError(
            f'{name!r}: pavi:// checkpoints are not supported (they cannot '
            'be fetched to a file for the safe loader); download it and pass '
            'the local path')
    from mmengine.dist import barrier, get_dist_info
    rank, world_size = get_dist_info()
    path = None
    for turn in ((0,), tuple(range(1, world_size))):
        if rank in turn:
            path = _fetch(name)
        if world_size > 1:
            barrier()
    return path, name.startswith('mmcls://')


def _fetch(name: str) -> str:
    url = _zoo_url(name) if name.startswith(ZOO) else name
    if url.startswith(HTTP):
        return _download(url)
    if any(re.match(p, url) for p in OBJECT_STORE):
        return _from_object_store(url)
    # open-mmlab's table may name a file under MMEngine's home
    from mmengine.runner.checkpoint import _get_mmengine_home
    return osp.join(_get_mmengine_home(), url)
