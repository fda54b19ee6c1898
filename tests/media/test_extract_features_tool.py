"""tools/extract_features.py end to end: bad clips, summary, exit codes, resume, pack."""
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest

from mer_toolbox.fileio.feature_store import open_feature_store
from mer_toolbox.fileio import clip_errors
from mer_toolbox.media import npy_complete
from media_fixtures import hub_offline, media_dir, tiny_models  # noqa: F401 fixtures

TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'extract_features.py')


def load_tool(path):
    spec = importlib.util.spec_from_file_location(
        'tool_' + osp.basename(path)[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tool_main(argv):
    return load_tool(TOOL).main(argv + ['--no-progress'])


def write_config(tmp_path, models, rows, subtitles, extra=''):
    """Clip list (name, path), subtitles CSV and a config using tiny models."""
    (tmp_path / 'clips.csv').write_text(
        'name,path\n' + ''.join(f'{n},{p}\n' for n, p in rows), encoding='utf-8')
    (tmp_path / 'subs.csv').write_text(
        'name,chinese,english\n' + ''.join(f'{n},中文,{s}\n'
                                           for n, s in subtitles.items()),
        encoding='utf-8')
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f"""
clips = dict(list_file={str(tmp_path / 'clips.csv')!r},
             subtitle_file={str(tmp_path / 'subs.csv')!r})
video = dict(num_frames=3, faces=dict(size=32))
feature_sets = [
    dict(encoder=dict(type='CLIPVisionEncoder', pretrained={models['clip']!r}, device='cpu')),
    dict(encoder=dict(type='HFAudioEncoder', pretrained={models['hubert']!r}, device='cpu')),
    dict(encoder=dict(type='HFTextEncoder', pretrained={models['bloom']!r}, device='cpu')),
]
output = dict(root={str(tmp_path / 'feats')!r})
{extra}
""")
    return str(cfg)


def read_jsonl(path):
    with open(path, encoding='utf-8') as f:
        return [json.loads(line) for line in f]


def test_bad_clips_are_logged_counted_and_the_run_continues(
        tmp_path, tiny_models, media_dir):
    good = str(media_dir / 'good.mp4')
    rows = [('ok1', good), ('ok2', good), ('ok3', good),
            ('no_audio', media_dir / 'silent.mp4'),
            ('corrupt', media_dir / 'garbage.mp4'),
            ('zero', media_dir / 'empty.mp4'),
            ('missing', media_dir / 'nowhere.mp4'),
            ('no_sub', good)]
    subs = {n: 'hello there' for n, _ in rows if n != 'no_sub'}
    cfg = write_config(tmp_path, tiny_models, rows, subs)
    assert tool_main([cfg]) == 1
    root = tmp_path / 'feats'
    summary = json.loads((root / 'summary.json').read_text())
    assert (summary['clips'], summary['ok'], summary['failed']) == (8, 3, 5)
    assert summary['failures_by_reason'] == {
        clip_errors.CORRUPT_FILE: 1, clip_errors.MISSING_SUBTITLE: 1,
        clip_errors.NO_AUDIO: 1, clip_errors.UNREADABLE_PATH: 1,
        clip_errors.ZERO_LENGTH: 1}
    assert summary['warnings_by_reason'] == {'no face found': 5}
    # every clip whose video decoded has a face coverage (here 0: no face)
    assert summary['face_detector'] in ('mtcnn', 'dlib_hog', 'opencv_haar')
    faces = summary['face_coverage']
    assert faces['per_clip'] == {n: 0.0 for n in ('ok1', 'ok2', 'ok3',
                                                  'no_audio', 'no_sub')}
    assert (faces['mean'], faces['clips_none'], faces['clips_full']) == (0, 5, 0)
    assert summary['feature_sets']['tiny-bloom'] == {'ok': 7, 'failed': 1}
    assert summary['exit_code'] == 1 and summary['clips_per_second'] > 0
    failures = read_jsonl(root / 'failures.jsonl')
    by_clip = {(f['clip'], f['feature_set']): f['reason'] for f in failures}
    assert by_clip[('no_audio', 'tiny-hubert')] == clip_errors.NO_AUDIO
    assert by_clip[('missing', 'tiny-clip')] == clip_errors.UNREADABLE_PATH
    assert ('no_audio', 'tiny-clip') not in by_clip  # its video was fine
    assert all(f['detail'] for f in failures)
    # what could be extracted was: video of the silent clip, text of the bad files
    assert npy_complete(str(root / 'tiny-clip-FRA' / 'no_audio.npy'))
    assert np.load(root / 'tiny-clip-FRA' / 'no_audio.npy').shape == (3, 16)
    assert npy_complete(str(root / 'tiny-bloom-UTT' / 'corrupt.npy'))
    assert not (root / 'tiny-hubert-UTT' / 'no_audio.npy').exists()

    # resume: a lost file and a file cut short by a kill are redone, the rest skipped
    os.remove(root / 'tiny-hubert-UTT' / 'ok1.npy')
    cut = root / 'tiny-clip-FRA' / 'ok2.npy'
    cut.write_bytes(cut.read_bytes()[:-8])
    assert not npy_complete(str(cut))
    kept = root / 'tiny-clip-UTT' / 'ok1.npy'
    before = kept.stat().st_mtime_ns
    assert tool_main([cfg, '--resume']) == 1
    summary = json.loads((root / 'summary.json').read_text())
    assert (summary['skipped_done'], summary['ok'], summary['failed']) == (1, 2, 5)
    assert summary['feature_sets']['tiny-hubert'] == {'ok': 1, 'failed': 4}
    assert npy_complete(str(cut)) and kept.stat().st_mtime_ns == before
    assert npy_complete(str(root / 'tiny-hubert-UTT' / 'ok1.npy'))


def test_clean_run_exits_0_and_packs(tmp_path, tiny_models, media_dir):
    good = str(media_dir / 'good.mp4')
    rows = [('a', good), ('b', good)]
    cfg = write_config(tmp_path, tiny_models, rows, {'a': 'hi', 'b': 'so sad'})
    assert tool_main([cfg, '--pack']) == 0
    for folder in ('tiny-clip-UTT', 'tiny-clip-FRA', 'tiny-hubert-UTT',
                   'tiny-bloom-UTT'):
        npy = open_feature_store(str(tmp_path / 'feats' / folder))
        packed = open_feature_store(str(tmp_path / 'feats_packed' / folder))
        assert packed.layout == 'packed' and packed.names() == ['a', 'b']
        for name in ('a', 'b'):
            np.testing.assert_array_equal(packed.load(name), npy.load(name))
    # the same clip with different subtitles: text differs, audio does not
    store = open_feature_store(str(tmp_path / 'feats' / 'tiny-bloom-UTT'))
    assert not np.allclose(store.load('a'), store.load('b'))
    # tools/pack_features.py packs the same folders on its own
    packer = load_tool(osp.join(osp.dirname(TOOL), 'pack_features.py'))
    assert packer.main([str(tmp_path / 'feats'), str(tmp_path / 'p2'),
                        '--folders', 'tiny-clip-FRA']) == 0
    np.testing.assert_array_equal(
        open_feature_store(str(tmp_path / 'p2' / 'tiny-clip-FRA')).load('b'),
        open_feature_store(str(tmp_path / 'feats' / 'tiny-clip-FRA')).load('b'))
    # a second run with --resume decodes nothing
    assert tool_main([cfg, '--resume']) == 0
    summary = json.loads((tmp_path / 'feats' / 'summary.json').read_text())
    assert summary['skipped_done'] == 2 and summary['timings']['write'] == 0


@pytest.mark.parametrize('extra', [
    "vidoe = dict(num_frames=2)",                          # a typo'd section
    "feature_sets = [dict(encoder=dict(type='HFTextEncoder', "
    "pretrained='./no/such/folder'))]",                    # missing model
    "clips = dict(list_file='/no/such/list.csv')",         # missing clip list
    "video = dict(num_frames=2, face=dict())",             # unknown key
])
def test_bad_config_exits_2_before_any_clip(tmp_path, tiny_models, media_dir,
                                            extra):
    cfg = write_config(tmp_path, tiny_models, [('a', media_dir / 'good.mp4')],
                       {'a': 'hi'}, extra)
    assert tool_main([cfg]) == 2
    assert not (tmp_path / 'feats').exists()
