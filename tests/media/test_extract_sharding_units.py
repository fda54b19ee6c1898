"""Shares of a clip list, clip durations, decode options and the per-rank GPU
check: the cheap parts of sharded extraction, without torchrun."""
import types

import pytest
import torch

from mer_toolbox.fileio.clip_list import read_clip_list
from mer_toolbox.media.sharding import shard_by_cost
from media_fixtures import hub_offline, media_dir, tiny_models  # noqa: F401
from test_extract_features_tool import TOOL, load_tool, tool_main, write_config


def test_shares_are_disjoint_complete_and_deterministic():
    costs = [3.0, None, 7.5, 1.0, None, 2.0, 9.0, 0.5, None, 4.0, 1.5]
    for world in (1, 2, 3, 4, 16):
        shares = shard_by_cost(costs, world)
        assert len(shares) == world
        flat = [i for share in shares for i in share]
        assert sorted(flat) == list(range(len(costs)))  # each exactly once
        assert all(share == sorted(share) for share in shares)
        assert shard_by_cost(list(costs), world) == shares


def test_shares_balance_known_durations():
    # one long clip weighs as much as nine short ones
    assert shard_by_cost([9.0] + [1.0] * 9, 2) == [[0], list(range(1, 10))]
    # unknown durations count as the mean of the known ones (here 5.0, so
    # 8 + 2 against 5 + 5; were they 1.0, rank 1 would get 1 + 1 + 2)
    assert shard_by_cost([8.0, None, None, 2.0], 2) == [[0, 3], [1, 2]]
    # nothing known: every clip costs the same, dealt in turn
    assert shard_by_cost([None] * 5, 2) == [[0, 2, 4], [1, 3]]
    assert shard_by_cost([], 3) == [[], [], []]
    with pytest.raises(ValueError, match='world_size'):
        shard_by_cost([1.0], 0)


def test_clip_list_reads_durations_and_rejects_bad_ones(tmp_path):
    listing = tmp_path / 'list.csv'
    listing.write_text('name,path,duration\na,a.mp4,2.5\nb,b.mp4,\n')
    items = read_clip_list(str(listing))
    assert [i.duration for i in items] == [2.5, None]
    for bad in ('-1', '0', 'long', 'inf', 'nan'):
        listing.write_text(f'name,path,duration\na,a.mp4,1\nb,b.mp4,{bad}\n')
        with pytest.raises(ValueError, match=r'list\.csv:3: duration must be '
                           'a positive number'):
            read_clip_list(str(listing))


@pytest.mark.parametrize('extra, flag', [
    ('decode = dict(num_workers=-1)', []),
    ('decode = dict(workers=2)', []),
    ('decode = dict(prefetch_factor=0)', []),
    ("decode = dict(start_method='threads')", []),
    ('', ['--num-workers', '-2']),
])
def test_bad_decode_options_exit_2_before_any_clip(tmp_path, tiny_models,
                                                   media_dir, extra, flag):
    cfg = write_config(tmp_path, tiny_models, [('a', media_dir / 'good.mp4')],
                       {'a': 'hi'}, extra)
    assert tool_main([cfg] + flag) == 2
    assert not (tmp_path / 'feats').exists()


def test_ranks_sharing_a_machine_refuse_a_fixed_gpu(monkeypatch):
    tool = load_tool(TOOL)
    fixed = types.SimpleNamespace(sets=[types.SimpleNamespace(
        name='tiny-clip', encoder=types.SimpleNamespace(
            device=torch.device('cuda', 1)))])
    free = types.SimpleNamespace(sets=[types.SimpleNamespace(
        name='tiny-clip', encoder=types.SimpleNamespace(
            device=torch.device('cuda')))])
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '2')
    with pytest.raises(ValueError, match="'tiny-clip': device cuda:1 is fixed"):
        tool.check_one_gpu_per_rank(fixed)
    tool.check_one_gpu_per_rank(free)
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '1')
    tool.check_one_gpu_per_rank(fixed)  # one rank per machine may pick any


def test_spawned_workers_need_a_picklable_detector():
    from mer_toolbox.media.decode_workers import check_decode_options
    from mer_toolbox.media.faces import FaceCropper
    from mer_toolbox.media.pipeline import ClipDecoder
    haar = ClipDecoder(dict(num_frames=2), FaceCropper(
        detector=dict(type='opencv_haar')), 16000, 'missing')
    with pytest.raises(ValueError, match="start_method='spawn' pickles the "
                       'decoder.*HaarFaceDetector'):
        check_decode_options(haar, 1, 2, 'spawn')
    check_decode_options(haar, 1, 2, 'fork')  # forked workers copy it as is
    check_decode_options(haar, 0, 2, 'spawn')  # no worker, nothing to copy
    plain = ClipDecoder(dict(num_frames=2), FaceCropper(
        detector=dict(type='none')), 16000, 'missing')
    check_decode_options(plain, 1, 2, 'spawn')
