"""The JSONL prior store: durability, torn lines, keys, loading, planning."""
import json

import pytest
from fake_gemini import prior_payload

from mer_toolbox.constants import MER2024_CLASSES
from mer_toolbox.fileio.clip_list import Clip
from mer_toolbox.fileio.prior_record import PriorRecord, record_from_payload
from mer_toolbox.fileio.prior_store import (PriorStoreWriter, iter_records,
                                            latest_records, load_priors)
from mer_toolbox.priors import plan_clips
from mer_toolbox.fileio.prior_store import ok_names


def ok(name, teacher='t', version='v1'):
    return record_from_payload(prior_payload(name), name=name,
                               teacher=teacher, prompt_version=version,
                               classes=MER2024_CLASSES)


def failed(name, teacher='t', version='v1'):
    return PriorRecord.failure(name, teacher, version, 'non_json', 'x')


def write(path, *records):
    with PriorStoreWriter(str(path)) as writer:
        for record in records:
            writer.append(record)


def test_round_trip_and_unicode(tmp_path):
    store = tmp_path / 'sub' / 'p.jsonl'
    record = ok('a')
    record.subtitle_semantics = '他说：“我很开心”'
    write(store, record, failed('b'))
    records = list(iter_records(str(store)))
    assert records[0] == record and records[1].reason == 'non_json'
    assert '我很开心' in store.read_text(encoding='utf-8')


def test_torn_last_line_is_skipped_then_cut(tmp_path, caplog):
    store = tmp_path / 'p.jsonl'
    write(store, ok('a'))
    with open(store, 'ab') as f:
        f.write(b'{"name": "b", "teach')
    assert [r.name for r in iter_records(str(store))] == ['a']
    assert 'torn last line' in caplog.text
    write(store, ok('c'))  # the writer cuts the fragment before appending
    assert [r.name for r in iter_records(str(store))] == ['a', 'c']


def test_corruption_in_the_middle_is_loud(tmp_path):
    store = tmp_path / 'p.jsonl'
    write(store, ok('a'))
    with open(store, 'ab') as f:
        f.write(b'not json\n')
    write(store, ok('b'))
    with pytest.raises(ValueError, match=r'p.jsonl:2: not a valid prior'):
        list(iter_records(str(store)))


def test_invalid_record_in_store_is_loud(tmp_path):
    store = tmp_path / 'p.jsonl'
    bad = ok('a')
    bad.label = 'joy'
    store.write_text(json.dumps(bad.to_dict()) + '\n')
    with pytest.raises(ValueError, match="label 'joy'"):
        list(iter_records(str(store)))


def test_latest_ok_wins_and_is_never_shadowed(tmp_path):
    store = tmp_path / 'p.jsonl'
    write(store, failed('a'), ok('a'), failed('a'), failed('b'))
    records = latest_records(str(store))
    assert records[('a', 't', 'v1')].ok
    assert not records[('b', 't', 'v1')].ok
    assert ok_names(str(store), 't', 'v1') == {'a'}


def test_load_priors_by_teacher(tmp_path):
    store = tmp_path / 'p.jsonl'
    write(store, ok('a'), ok('a', version='v2'), failed('b'))
    with pytest.raises(ValueError, match='several teachers'):
        load_priors(str(store))
    priors = load_priors(str(store), prompt_version='v1')
    assert list(priors) == ['a']
    assert set(load_priors(str(store), 't', 'v1', ok_only=False)) == {'a',
                                                                      'b'}


def test_one_writer_at_a_time(tmp_path):
    store = str(tmp_path / 'p.jsonl')
    with PriorStoreWriter(store):
        with pytest.raises(RuntimeError, match='another process'):
            PriorStoreWriter(store)
    PriorStoreWriter(store).close()  # released on close


def test_plan_skips_ok_and_failed_unless_asked(tmp_path):
    store = str(tmp_path / 'p.jsonl')
    write(store, ok('a'), failed('b'), ok('c', teacher='other'))
    clips = [Clip(n) for n in 'abcd']
    with pytest.raises(RuntimeError, match='--resume'):
        plan_clips(clips, store, 't', 'v1')
    todo, skipped_ok, skipped_failed = plan_clips(clips, store, 't', 'v1',
                                                  resume=True)
    assert [c.name for c in todo] == ['c', 'd']
    assert (skipped_ok, skipped_failed) == (1, 1)
    todo, _, _ = plan_clips(clips, store, 't', 'v1', resume=True,
                            retry_failed=True, limit=2)
    assert [c.name for c in todo] == ['b', 'c']
    with pytest.raises(ValueError, match='duplicate'):
        plan_clips([Clip('a'), Clip('a')], store, 't', 'v1', resume=True)
