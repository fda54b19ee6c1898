"""Importers: the follow-up work's JSON priors and our own record files."""
import json
import os.path as osp

import pytest
from prior_testutils import run_tool

from mer_toolbox.fileio.prior_store import PriorStoreWriter, load_priors
from mer_toolbox.priors import (PaperJsonPriorImporter,
                                RecordFilePriorImporter, run_generation)
from mer_toolbox.priors.importers import parse_paper_contributions
from mer_toolbox.fileio.prior_record import PriorValidationError

SAMPLE = osp.join(osp.dirname(__file__), 'data', 'paper_priors_sample.json')


def import_into(tmp_path, importer):
    store = str(tmp_path / 'imported.jsonl')
    summary = run_generation(importer, importer.default_clips(), store,
                             progress=False, handle_signals=False)
    return summary, load_priors(store, ok_only=False)


def test_paper_json_sample(tmp_path):
    summary, priors = import_into(tmp_path, PaperJsonPriorImporter(SAMPLE))
    assert summary.ok == 3 and summary.failed == {'schema_violation': 2}
    happy = priors['sample_00001']
    assert happy.label == 'happy' and happy.scores['happy'] == 0.85
    assert happy.contributions == pytest.approx(
        {'video': 0.4, 'audio': 0.3, 'text': 0.3})
    assert happy.reasoning.startswith('人物嘴角上扬')
    assert happy.visual_reasoning == '' and happy.action_units == []
    assert (happy.teacher, happy.prompt_version) == ('paper-gemini',
                                                     'paper-json')
    assert priors['sample_00003'].label == 'neutral'  # fenced reply text
    assert 'sum to 120' in priors['sample_00004'].detail
    assert "label 'Sad'" in priors['sample_00005'].detail


def test_paper_json_list_and_jsonl_forms(tmp_path):
    entries = json.load(open(SAMPLE, encoding='utf-8'))
    good = dict(entries['sample_00001'], name='x1')
    (tmp_path / 'list.json').write_text(json.dumps([good]), encoding='utf-8')
    (tmp_path / 'lines.jsonl').write_text(
        json.dumps(dict(good, name='x2')) + '\n', encoding='utf-8')
    for path, name in (('list.json', 'x1'), ('lines.jsonl', 'x2')):
        importer = PaperJsonPriorImporter(str(tmp_path / path))
        assert [c.name for c in importer.default_clips()] == [name]
        assert importer.generate(importer.default_clips()[0]).ok
    (tmp_path / 'bad.json').write_text(json.dumps([{'label': 'happy'}]))
    with pytest.raises(ValueError, match='name keys'):
        PaperJsonPriorImporter(str(tmp_path / 'bad.json'))


@pytest.mark.parametrize('raw,video', [
    ({'视频': '40%', '音频': '30%', '字幕': '30%'}, 0.4),
    ({'视频': 50, '音频': 25, '字幕': 25}, 0.5),
    ({'视频': 0.2, '音频': 0.3, '字幕': 0.5}, 0.2),
    ({'视频': ' 34 %', '音频': '33%', '字幕': '33%'}, 0.34),
])
def test_contribution_formats(raw, video):
    assert parse_paper_contributions(raw)['video'] == pytest.approx(video)


@pytest.mark.parametrize('raw', [
    {'视频': '40%', '音频': '30%'}, {'视频': 'high', '音频': '30%', '字幕': '30%'},
    {'视频': '90%', '音频': '30%', '字幕': '30%'}])
def test_contribution_errors(raw):
    with pytest.raises(PriorValidationError):
        parse_paper_contributions(raw)


def test_unknown_clip_is_missing_input(tmp_path):
    importer = PaperJsonPriorImporter(SAMPLE)
    from mer_toolbox.fileio.clip_list import Clip
    record = importer.generate(Clip('not_there'))
    assert record.reason == 'missing_input'


def test_record_file_importer_merges_stores(tmp_path):
    _, priors = import_into(tmp_path, PaperJsonPriorImporter(SAMPLE))
    source = str(tmp_path / 'imported.jsonl')
    importer = RecordFilePriorImporter(source)
    assert importer.teacher == 'paper-gemini'
    merged = str(tmp_path / 'merged.jsonl')
    run_generation(importer, importer.default_clips(), merged,
                   progress=False, handle_signals=False)
    assert load_priors(merged) == {n: r for n, r in priors.items() if r.ok}
    with PriorStoreWriter(source) as writer:  # a second teacher in the file
        writer.append(priors['sample_00001'].__class__.failure(
            'z', 'other', 'v', 'non_json'))
    with pytest.raises(ValueError, match='one teacher'):
        RecordFilePriorImporter(source)


def test_import_through_the_tool(tmp_path, capsys):
    config = tmp_path / 'cfg.py'
    store = tmp_path / 'paper.jsonl'
    config.write_text(
        f"prior_generator = dict(type='PaperJsonPriorImporter', "
        f"path={SAMPLE!r})\nprior_store = {str(store)!r}\n"
        "prior_embedder = dict(type='HashingTextEmbedder', dim=16)\n")
    assert run_tool([config, '--no-progress']) == 0
    out = capsys.readouterr().out
    assert 'ok 3, failed 2 (schema_violation: 2)' in out
    assert osp.isdir(str(store) + '.emb')
