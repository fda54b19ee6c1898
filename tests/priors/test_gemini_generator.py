"""GeminiPriorGenerator against the local fake Gemini server."""
import base64
import logging
import os.path as osp
import time

import pytest
from fake_gemini import (BAD_BODY, DROP, EMPTY, NON_JSON_TEXT, OK,
                         PROMPT_BLOCKED, SAFETY, http, prior_payload, text)
from prior_testutils import generate_records, make_clips

from mer_toolbox.fileio.prior_store import latest_records
from mer_toolbox.priors import (FatalTeacherError, GeminiPriorGenerator,
                                PROMPT_VERSION)
from mer_toolbox.priors.gemini_options import grouped

FAST = dict(max_concurrency=4, requests_per_minute=None, timeout_s=5,
            max_attempts=3, backoff_initial_s=0.01, backoff_max_s=0.05)


def generate(fake, clip_dir, **settings):
    """Run the generator over clip_dir; return (summary, name -> record).

    ``settings``: overrides of FAST and the other grouped settings, written
    in their groups (``client=dict(...)``, ``upload=dict(...)``)."""
    cfg = dict(type='GeminiPriorGenerator',
               **grouped({**FAST, 'base_url': fake.url, **settings}))
    return generate_records(cfg, str(clip_dir))


def test_success_parsed_into_records(fake_gemini, clip_dir, canary_key):
    fake_gemini.keep_bodies = True
    summary, records = generate(fake_gemini, clip_dir)
    assert summary.ok == 8 and not summary.failed
    record = records['c3']
    expected = prior_payload('c3')
    assert record.teacher == 'gemini-2.5-flash'
    assert record.prompt_version == PROMPT_VERSION
    assert record.label == expected['label']
    assert record.action_units == [6, 12]
    assert record.contributions == pytest.approx(
        {'video': 0.5, 'audio': 0.3, 'text': 0.2})
    assert record.usage['input_tokens'] > 0 and record.attempts == 1
    assert summary.input_tokens == sum(r.usage['input_tokens']
                                       for r in records.values())
    assert summary.cost > 0
    # What went over the wire: the video inline, the subtitle in the prompt,
    # the schema, the key in the header (and only there).
    call = fake_gemini.generate_calls('c3')[0]
    assert call.api_key == canary_key
    parts = call.body['contents'][0]['parts']
    video = base64.urlsafe_b64decode(parts[0]['inlineData']['data'])
    assert b'MERCLIP:c3' in video
    assert 'c3 说话' in parts[1]['text'] and 'AU6 cheek raiser' in parts[1][
        'text']
    config = call.body['generationConfig']
    assert config['responseMimeType'] == 'application/json'
    assert config['responseSchema']['properties']['label']['enum'][0] == \
        'neutral'
    assert config['temperature'] == 0.2


def test_429_then_success(fake_gemini, clip_dir, canary_key):
    fake_gemini.script['c1'] = [http(429, retry_delay='0.01s'), OK]
    summary, records = generate(fake_gemini, clip_dir)
    assert records['c1'].ok and records['c1'].attempts == 2
    assert len(fake_gemini.generate_calls('c1')) == 2
    assert summary.ok == 8 and summary.calls == 9


def test_500_retried_then_recorded(fake_gemini, clip_dir, canary_key):
    fake_gemini.script['c1'] = [http(500), OK]
    fake_gemini.script['c2'] = [http(500), http(503), http(500)]
    summary, records = generate(fake_gemini, clip_dir)
    assert records['c1'].ok
    assert not records['c2'].ok and records['c2'].reason == 'server_error'
    assert records['c2'].attempts == 3 and '500' in records['c2'].detail
    assert summary.failed == {'server_error': 1}


def test_malformed_body_and_dropped_connection_retried(fake_gemini, clip_dir,
                                                       canary_key):
    fake_gemini.script['c1'] = [BAD_BODY, OK]
    fake_gemini.script['c2'] = [DROP, OK]
    fake_gemini.script['c3'] = [BAD_BODY] * 3
    _, records = generate(fake_gemini, clip_dir)
    assert records['c1'].ok and records['c1'].attempts == 2
    assert records['c2'].ok and records['c2'].attempts == 2
    assert records['c3'].reason == 'bad_response_body'


@pytest.mark.parametrize('reply,reason', [
    (text(dict(prior_payload('x'), label='joyful')), 'schema_violation'),
    (text(dict(prior_payload('x'), action_units=[3, 12])), 'schema_violation'),
    (text(dict(prior_payload('x'),
               contributions={'video': 50, 'audio': 50, 'text': 50})),
     'schema_violation'),
    (NON_JSON_TEXT, 'non_json'),
    (EMPTY, 'refused'),
    (SAFETY, 'refused'),
    (PROMPT_BLOCKED, 'refused'),
    (text('I cannot determine the emotion of this person.'), 'refused'),
])
def test_unusable_reply_is_a_failed_record_not_retried(
        fake_gemini, clip_dir, canary_key, reply, reason):
    fake_gemini.script['c4'] = [reply, OK]
    summary, records = generate(fake_gemini, clip_dir)
    assert not records['c4'].ok and records['c4'].reason == reason
    assert records['c4'].label is None and records['c4'].detail
    # Billed replies are not retried automatically (--retry-failed does).
    assert len(fake_gemini.generate_calls('c4')) == 1
    assert summary.ok == 7 and summary.failed == {reason: 1}


def test_schema_violation_detail_says_what(fake_gemini, clip_dir, canary_key):
    fake_gemini.script['c0'] = [text(dict(prior_payload('c0'), label='joy'))]
    _, records = generate(fake_gemini, clip_dir)
    assert "label 'joy' is not one of" in records['c0'].detail


def test_missing_video_recorded_without_a_call(fake_gemini, clip_dir,
                                               canary_key):
    (clip_dir / 'video' / 'c5.mp4').unlink()
    _, records = generate(fake_gemini, clip_dir)
    assert records['c5'].reason == 'missing_input'
    assert fake_gemini.generate_calls('c5') == []


def test_large_video_goes_through_files_api(fake_gemini, tmp_path,
                                            canary_key):
    make_clips(str(tmp_path), ['big1', 'big2'], size=4096)
    summary, records = generate(fake_gemini, tmp_path,
                                inline_max_bytes=1000, file_poll_s=0.01)
    assert records['big1'].ok and records['big2'].ok
    # calls for a clip: the upload, one status poll, the generation
    assert records['big1'].attempts == 3 and summary.calls == 6
    methods = [(r.method, r.path.split('?')[0]) for r in fake_gemini.requests]
    assert ('POST', '/upload/v1beta/files') in methods
    # One poll per upload: uploaded PROCESSING, then found ACTIVE.
    assert sum(m == 'GET' for m, _ in methods) == 2
    assert sum(m == 'DELETE' for m, _ in methods) == 2
    assert fake_gemini.files == {}  # uploads deleted after use


def test_concurrency_bounded_and_overlapping(fake_gemini, tmp_path,
                                            canary_key):
    make_clips(str(tmp_path), [f'c{i}' for i in range(12)])
    fake_gemini.latency = 0.3
    start = time.monotonic()
    summary, _ = generate(fake_gemini, tmp_path, max_concurrency=4)
    elapsed = time.monotonic() - start
    assert summary.ok == 12
    assert fake_gemini.max_inflight == 4
    assert elapsed < 12 * 0.3 / 2  # serial would take 3.6 s; ideal 0.9 s


def test_requests_per_minute_limit(fake_gemini, clip_dir, canary_key):
    start = time.monotonic()
    generate(fake_gemini, clip_dir, requests_per_minute=600)  # 10 per second
    assert time.monotonic() - start >= 0.65  # 8 calls, 1 immediately


def test_timeout_retried_then_recorded(fake_gemini, clip_dir, canary_key):
    from fake_gemini import slow
    fake_gemini.script['c0'] = [slow(OK, 2.0), OK]
    fake_gemini.script['c1'] = [slow(OK, 2.0)] * 2
    _, records = generate(fake_gemini, clip_dir, timeout_s=0.5,
                          max_attempts=2)
    assert records['c0'].ok and records['c0'].attempts == 2
    assert records['c1'].reason == 'timeout'


def test_base_url_from_sdk_environment(fake_gemini, clip_dir, canary_key,
                                       monkeypatch):
    monkeypatch.setenv('GOOGLE_GEMINI_BASE_URL', fake_gemini.url)
    summary, _ = generate(fake_gemini, clip_dir, base_url=None)
    assert summary.ok == 8 and len(fake_gemini.generate_calls()) == 8


def test_no_key_fails_before_any_call(fake_gemini, clip_dir, canary_key,
                                      monkeypatch):
    monkeypatch.delenv('GEMINI_API_KEY')
    with pytest.raises(FatalTeacherError, match='GEMINI_API_KEY'):
        generate(fake_gemini, clip_dir)
    assert fake_gemini.requests == []


def test_rejected_key_stops_the_run(fake_gemini, clip_dir, canary_key):
    fake_gemini.default = http(403)
    with pytest.raises(FatalTeacherError, match='rejected the key'):
        generate(fake_gemini, clip_dir, max_concurrency=1)
    assert len(fake_gemini.generate_calls()) == 1
    assert latest_records(str(clip_dir / 'priors.jsonl')) == {}


def test_api_key_in_config_is_refused():
    with pytest.raises(ValueError, match='environment'):
        GeminiPriorGenerator(api_key='sk-oops')


def test_key_never_in_records_or_logs(fake_gemini, clip_dir, canary_key,
                                      caplog):
    # Failures whose text might carry request details, at every log level.
    fake_gemini.script['c0'] = [http(500)] * 3
    fake_gemini.script['c1'] = [http(400)]
    fake_gemini.script['c2'] = [DROP] * 3
    with caplog.at_level(logging.DEBUG):
        generate(fake_gemini, clip_dir)
    store = (clip_dir / 'priors.jsonl').read_text(encoding='utf-8')
    assert 'client_error' in store and 'server_error' in store
    assert canary_key not in store
    assert canary_key not in caplog.text
    generator = GeminiPriorGenerator(client=dict(base_url=fake_gemini.url))
    generator.setup()
    assert canary_key not in repr(vars(generator))
    assert osp.exists(clip_dir / 'priors.jsonl')


def test_key_echoed_in_any_encoding_never_reaches_the_store(
        fake_gemini, clip_dir, canary_key):
    percent = ''.join(f'%{b:02X}' for b in canary_key.encode())
    b64 = base64.b64encode(f'user:{canary_key}'.encode()).decode()
    echo = f'url https://t.example/?key={percent} auth Basic {b64}'
    fake_gemini.script['c1'] = [text(dict(prior_payload('c1'),
                                          reasoning=echo))]
    fake_gemini.script['c2'] = [text(f'not json {percent} {b64}')]
    _, records = generate(fake_gemini, clip_dir)
    assert records['c1'].ok and '<redacted>' in records['c1'].reasoning
    assert records['c2'].reason == 'non_json'
    stored = (clip_dir / 'priors.jsonl').read_text(encoding='utf-8')
    for form in (canary_key, percent, b64[8:-4]):
        assert form not in stored


def test_refusal_asked_again_with_the_second_prompt(fake_gemini, clip_dir,
                                                   canary_key):
    from mer_toolbox.priors.api_teacher import (REFUSAL_RETRY_NOTE,
                                                REFUSAL_RETRY_VARIANT)
    fake_gemini.keep_bodies = True
    fake_gemini.script['c0'] = [SAFETY, OK]
    summary, records = generate(fake_gemini, clip_dir, retry_refusals=True)
    assert records['c0'].ok and records['c0'].attempts == 2
    assert records['c0'].prompt_variant == REFUSAL_RETRY_VARIANT
    second = fake_gemini.generate_calls('c0')[1]
    assert second.body['contents'][0]['parts'][-1]['text'] == \
        REFUSAL_RETRY_NOTE
    assert summary.calls == 9 and records['c1'].prompt_variant is None


def test_failed_upload_counts_its_calls(fake_gemini, tmp_path, canary_key):
    """A refused upload is retried and recorded; every request it made
    counts in the record's attempts and the run's calls."""
    make_clips(str(tmp_path), ['big1'], size=4096)
    fake_gemini.upload_error = 503
    summary, records = generate(fake_gemini, tmp_path,
                                inline_max_bytes=1000, file_poll_s=0.01)
    record = records['big1']
    assert record.reason == 'upload_failed' and '503' in record.detail
    starts = [r for r in fake_gemini.requests
              if r.path.split('?')[0] == '/upload/v1beta/files']
    assert len(starts) == 3 == record.attempts  # max_attempts in FAST
    assert summary.calls == 3 and fake_gemini.generate_calls() == []


def test_inline_video_is_read_off_the_event_loop(fake_gemini, clip_dir,
                                                 canary_key, monkeypatch):
    import asyncio
    import threading

    import mer_toolbox.priors.gemini as gemini
    readers = []
    read = gemini._read_bytes

    def spy(path):
        try:
            asyncio.get_running_loop()
            readers.append('event loop')
        except RuntimeError:  # no loop runs in this thread
            readers.append(threading.current_thread().name)
        return read(path)

    monkeypatch.setattr(gemini, '_read_bytes', spy)
    summary, _ = generate(fake_gemini, clip_dir)
    assert summary.ok == 8 and len(readers) == 8
    assert 'event loop' not in readers


def test_settings_are_grouped_and_flat_configs_still_build(caplog):
    generator = GeminiPriorGenerator(
        generation=dict(temperature=0.5), client=dict(max_concurrency=3),
        retry=dict(max_attempts=2), upload=dict(inline_max_bytes=10),
        pricing=dict(price_input_per_1m=1.0))
    assert generator.generation.temperature == 0.5
    assert generator.upload.inline_max_bytes == 10
    # the shared API machinery sees the grouped values
    assert (generator.max_concurrency, generator.max_attempts,
            generator.price_input_per_1m) == (3, 2, 1.0)
    assert generator.requests_per_minute == 60  # a default of its group
    with caplog.at_level(logging.WARNING):
        flat = GeminiPriorGenerator(temperature=0.5, max_concurrency=3,
                                    max_attempts=2, inline_max_bytes=10,
                                    price_input_per_1m=1.0)
    assert 'client=dict(max_concurrency)' in caplog.text
    for group in ('generation', 'client', 'retry', 'upload', 'pricing'):
        assert getattr(flat, group) == getattr(generator, group)


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(max_attempts=2, retry=dict(max_attempts=3)), ValueError,
     'given both'),
    (dict(retries=2), TypeError, r"unknown arguments \['retries'\]"),
    (dict(retry=dict(attempts=2)), TypeError,
     r"retry= got unknown keys \['attempts'\]"),
    (dict(upload='big'), TypeError, 'upload must be a dict'),
    (dict(retry=dict(max_attempts=0)), ValueError, 'max_attempts must be'),
])
def test_bad_settings_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        GeminiPriorGenerator(**kwargs)


def test_shipped_config_builds_with_its_groups():
    from mmengine.config import Config

    from mer_toolbox.registry import PRIOR_GENERATORS
    from prior_testutils import REPO
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'priors', 'gemini.py'))
    generator = PRIOR_GENERATORS.build(cfg.prior_generator)
    assert generator.client.requests_per_minute == 60
    assert generator.pricing.price_output_per_1m == 2.50
    assert generator.upload.inline_max_bytes == 14 * 2**20
