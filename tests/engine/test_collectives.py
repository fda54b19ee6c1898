"""Every collective of the package goes through one helper that puts its
tensors on the device the backend serves (NCCL: CUDA only)."""
import re
import socket
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mer_test_utils import REPO
from mer_toolbox.models.losses import dist_utils

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _collective_worker as worker  # noqa: E402

HELPER = Path(dist_utils.__file__).resolve()


def test_no_collective_outside_the_helper():
    call = re.compile(r'\bdist\.(%s)\(' % '|'.join(worker.COLLECTIVES))
    offenders = [f'{path.relative_to(REPO)}:{n}'
                 for path in Path(REPO, 'mer_toolbox').rglob('*.py')
                 if path.resolve() != HELPER
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if call.search(line)]
    assert not offenders, ('call the collectives of '
                           f'{HELPER.name} instead: {offenders}')


def test_collective_device_follows_the_backend():
    with mock.patch.object(dist, 'get_backend', return_value='nccl'), \
            mock.patch.object(torch.cuda, 'current_device', return_value=1):
        assert dist_utils.collective_device() == torch.device('cuda', 1)
    for backend in ('gloo', 'cpu:gloo,cuda:nccl'):
        with mock.patch.object(dist, 'get_backend', return_value=backend):
            assert dist_utils.collective_device() == torch.device('cpu')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_ranks_gather_through_a_guarded_process_group(tmp_path):
    mp.spawn(worker.run, args=(2, _free_port(), str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f'rank{r}.pt', weights_only=False)
             for r in range(2)]
    expected_rows = np.concatenate([np.full((3, 2), 0, np.float32),
                                    np.full((4, 2), 1, np.float32)])
    expected = torch.tensor([[0.0] * 4] * 2 + [[1.0] * 4])
    for rank, result in enumerate(ranks):
        np.testing.assert_array_equal(result['rows'], expected_rows)
        torch.testing.assert_close(result['gathered'], expected)
        assert result['offset'] == (0, 2)[rank]
        # backward sums every rank's gradient of its own rows
        torch.testing.assert_close(result['grad'],
                                   torch.full((2 - rank, 4), 2.0))
        assert result['total'].item() == 3.0
        assert {name for name, _ in result['calls']} >= {'all_gather',
                                                         'all_reduce'}
