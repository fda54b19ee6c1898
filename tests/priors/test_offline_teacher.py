"""The offline rule-based teacher and its input readers."""
import os.path as osp

import pytest
from prior_testutils import REPO, run_tool

from mer_toolbox.fileio.clip_list import Clip, read_clip_list
from mer_toolbox.fileio.prior_store import load_priors
from mer_toolbox.priors import RuleBasedPriorGenerator
from mer_toolbox.priors.offline_inputs import (au_activations,
                                               read_au_detections,
                                               read_prosody)

DEMO = osp.join(REPO, 'configs', 'priors', 'demo')


def demo_generator(**kwargs):
    return RuleBasedPriorGenerator(au_file=osp.join(DEMO, 'aus.csv'),
                                   prosody_file=osp.join(DEMO, 'prosody.csv'),
                                   **kwargs)


def test_demo_clips_get_their_emotion():
    generator = demo_generator()
    for clip in read_clip_list(osp.join(DEMO, 'clips.csv')):
        record = generator.generate(clip)
        assert record.ok and record.label == clip.name.split('_')[1]
        assert sum(record.contributions.values()) == pytest.approx(1.0)
        assert 'Active AUs' in record.visual_reasoning


def test_evidence_sets_the_contributions():
    generator = demo_generator()
    smile = generator.generate(Clip('demo_happy_0'))  # no subtitle given
    assert smile.contributions['text'] == 0.0
    assert smile.subtitle_semantics == 'No subtitle.'
    assert smile.action_units == [6, 12]
    video_only = RuleBasedPriorGenerator(au_file=osp.join(DEMO, 'aus.csv'))
    record = video_only.generate(Clip('demo_angry_0'))
    assert record.contributions == {'video': 1.0, 'audio': 0.0, 'text': 0.0}
    assert record.label == 'angry'


def test_missing_inputs_are_failed_records():
    record = demo_generator().generate(Clip('unknown'))
    assert not record.ok and record.reason == 'missing_input'
    text_only = demo_generator().generate(Clip('unknown', subtitle='哈哈 开心'))
    assert text_only.ok and text_only.label == 'happy'


def test_au_activation_rules():
    assert au_activations({'AU06_r': 2.5, 'AU06_c': 0}) == {6: 0.5}
    assert au_activations({' AU28_c': 1, 'AU12_r': ''}) == {28: 1.0}
    assert au_activations({'AU12_r': 9}) == {12: 1.0}
    with pytest.raises(ValueError, match='AU3 is not'):
        au_activations({'AU03_r': 1})


def test_openface_folder_and_json_inputs(tmp_path):
    folder = tmp_path / 'openface'
    (folder / 'clip_b').mkdir(parents=True)
    header = 'frame, success, AU06_r, AU12_r, AU12_c\n'
    (folder / 'clip_a.csv').write_text(
        header + '1, 1, 5.0, 5.0, 1\n2, 0, 0.0, 0.0, 0\n3, 1, 3.0, 4.0, 1\n')
    (folder / 'clip_b' / 'clip_b.csv').write_text(header + '1, 1, 0, 0, 0\n')
    detections = read_au_detections(str(folder))
    assert detections['clip_a'] == {6: 0.8, 12: 1.0}  # frame 2 failed
    assert detections['clip_b'] == {6: 0.0, 12: 0.0}
    (tmp_path / 'p.json').write_text(
        '{"clip_a": {"pitch_mean_hz": 210, "energy_db": null}}')
    assert read_prosody(str(tmp_path / 'p.json')) == {
        'clip_a': {'pitch_mean_hz': 210.0}}
    (tmp_path / 'bad.csv').write_text('name,loudness\nx,1\n')
    with pytest.raises(ValueError, match='unknown prosody fields'):
        read_prosody(str(tmp_path / 'bad.csv'))


def test_demo_config_end_to_end(tmp_path, capsys):
    store = tmp_path / 'rules.jsonl'
    config = osp.join(REPO, 'configs', 'priors', 'offline.py')
    assert run_tool([config, '--store', store, '--no-progress']) == 0
    assert 'ok 12, failed 0' in capsys.readouterr().out
    priors = load_priors(str(store))
    assert {p.label for p in priors.values()} == {
        'neutral', 'angry', 'happy', 'sad', 'worried', 'surprise'}
    assert osp.isdir(str(store) + '.emb')
