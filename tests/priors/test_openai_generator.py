"""OpenAICompatiblePriorGenerator against the local fake OpenAI server."""
import base64
import logging
import time

import pytest
from fake_gemini import (BAD_BODY, DROP, EMPTY, NON_JSON_TEXT, OK, http,
                         prior_payload, slow, text)
from fake_openai import (CONTENT_FILTER, CUT, REFUSAL, FakeOpenAI,
                         image_parts, write_frames)
from prior_testutils import CANARY_KEY, generate_records, make_clips

from mer_toolbox.priors import FatalTeacherError
from mer_toolbox.priors.api_teacher import (REFUSAL_RETRY_NOTE,
                                            REFUSAL_RETRY_VARIANT)
from mer_toolbox.priors.openai_compat import (OpenAICompatiblePriorGenerator,
                                              json_schema,
                                              retry_after_seconds)

NAMES = [f'c{i}' for i in range(6)]
FAST = dict(max_concurrency=3, timeout_s=5, max_attempts=3,
            backoff_initial_s=0.01, backoff_max_s=0.05, audio='none')


@pytest.fixture
def fake():
    with FakeOpenAI(keep_bodies=True) as server:
        yield server


@pytest.fixture
def clips_root(tmp_path, monkeypatch):
    monkeypatch.delenv('OPENAI_API_KEY', raising=False)
    make_clips(str(tmp_path), NAMES)
    write_frames(str(tmp_path), NAMES)
    return tmp_path


def generate(fake, root, **options):
    cfg = dict(type='OpenAICompatiblePriorGenerator', model='fake-model',
               base_url=fake.base_url, frame_dir=str(root / 'frames'), **FAST)
    cfg.update(options)
    return generate_records(cfg, str(root))


def test_success_frames_prompt_schema_and_no_key(fake, clips_root):
    summary, records = generate(fake, clips_root)
    assert summary.ok == 6 and not summary.failed
    record = records['c2']
    assert record.label == prior_payload('c2')['label']
    assert record.teacher == 'fake-model'
    assert record.prompt_version == 'v1-chat1-none'
    assert record.usage['input_tokens'] > 0 and record.attempts == 1
    call = fake.generate_calls('c2')[0]
    assert call.api_key is None  # a local server: no key, no header
    body = call.body
    assert body['model'] == 'fake-model' and body['temperature'] == 0.2
    images = image_parts(body)
    assert len(images) == 3 and all(b'MERCLIP:c2' in i for i in images)
    texts = [p['text'] for p in body['messages'][0]['content']
             if p['type'] == 'text']
    assert 'c2 说话' in texts[0] and '3 face frames' in texts[1]
    assert 'audio is not available' in texts[2]
    schema = body['response_format']['json_schema']
    assert schema['strict'] and schema['schema'] == json_schema()
    assert schema['schema']['properties']['label']['enum'][0] == 'neutral'
    assert schema['schema']['additionalProperties'] is False


def test_key_goes_in_the_header_only(fake, clips_root, monkeypatch, caplog):
    monkeypatch.setenv('OPENAI_API_KEY', CANARY_KEY)
    fake.script['c0'] = [http(500)] * 3
    fake.script['c1'] = [http(400)]
    with caplog.at_level(logging.DEBUG):
        summary, _ = generate(fake, clips_root)
    assert summary.failed == {'server_error': 1, 'client_error': 1}
    assert fake.generate_calls('c2')[0].api_key == f'Bearer {CANARY_KEY}'
    store = (clips_root / 'priors.jsonl').read_text(encoding='utf-8')
    assert CANARY_KEY not in store and CANARY_KEY not in caplog.text


def test_required_key_missing_and_rejected_key(fake, clips_root,
                                               monkeypatch):
    with pytest.raises(FatalTeacherError, match='OPENAI_API_KEY'):
        generate(fake, clips_root, key_required=True)
    assert fake.requests == []
    monkeypatch.setenv('OPENAI_API_KEY', CANARY_KEY)
    fake.default = http(401)
    with pytest.raises(FatalTeacherError, match='rejected the key'):
        generate(fake, clips_root, max_concurrency=1)
    assert len(fake.generate_calls()) == 1
    with pytest.raises(ValueError, match='environment'):
        OpenAICompatiblePriorGenerator('m', api_key='sk-oops')
    with pytest.raises(TypeError, match="unknown arguments \\['max_attemps'\\]"):
        OpenAICompatiblePriorGenerator('m', max_attemps=3)


def test_transient_errors_retried(fake, clips_root):
    fake.script['c0'] = [http(429, retry_delay='0.2s'), OK]
    fake.script['c1'] = [http(500), http(503), OK]
    fake.script['c2'] = [BAD_BODY, OK]
    fake.script['c3'] = [DROP, OK]
    fake.script['c4'] = [http(500)] * 3
    summary, records = generate(fake, clips_root, backoff_max_s=1.0)
    assert [records[c].attempts for c in ('c0', 'c1', 'c2', 'c3')] == \
        [2, 3, 2, 2]
    assert all(records[c].ok for c in ('c0', 'c1', 'c2', 'c3'))
    assert records['c4'].reason == 'server_error'
    assert summary.calls == 2 + 3 + 2 + 2 + 3 + 1
    c0 = fake.generate_calls('c0')
    # The Retry-After hint (0.2 s, under the 1 s ceiling) beats the backoff.
    assert c0[1].time - c0[0].time >= 0.19


def test_timeout_retried_then_recorded(fake, clips_root):
    fake.script['c0'] = [slow(OK, 2.0), OK]
    fake.script['c1'] = [slow(OK, 2.0)] * 2
    _, records = generate(fake, clips_root, timeout_s=0.5, max_attempts=2)
    assert records['c0'].ok and records['c0'].attempts == 2
    assert records['c1'].reason == 'timeout'


@pytest.mark.parametrize('reply,reason', [
    (NON_JSON_TEXT, 'non_json'),
    (text(dict(prior_payload('x'), label='joyful')), 'schema_violation'),
    (text(dict(prior_payload('x'), extra='field')), 'schema_violation'),
    (REFUSAL, 'refused'),
    (CONTENT_FILTER, 'refused'),
    (EMPTY, 'refused'),
    (text("I'm sorry, I cannot determine emotions from faces."), 'refused'),
    (CUT, 'max_tokens'),
])
def test_unusable_reply_is_a_failed_record_not_retried(fake, clips_root,
                                                       reply, reason):
    fake.script['c3'] = [reply, OK]
    summary, records = generate(fake, clips_root)
    assert records['c3'].reason == reason and records['c3'].detail
    assert len(fake.generate_calls('c3')) == 1
    assert summary.failed == {reason: 1} and summary.ok == 5


def test_refusal_retried_once_with_the_second_prompt(fake, clips_root):
    fake.script['c0'] = [REFUSAL, OK]
    fake.script['c1'] = [text('Unable to determine the emotion.'), REFUSAL]
    fake.script['c2'] = [NON_JSON_TEXT, OK]  # not a refusal: no second try
    summary, records = generate(fake, clips_root, retry_refusals=True)
    ok, refused = records['c0'], records['c1']
    assert ok.ok and ok.prompt_variant == REFUSAL_RETRY_VARIANT
    assert ok.attempts == 2
    first, second = fake.generate_calls('c0')
    notes = [p['text'] for p in second.body['messages'][0]['content']
             if p['type'] == 'text']
    assert notes[-1] == REFUSAL_RETRY_NOTE
    assert REFUSAL_RETRY_NOTE not in str(first.body)
    assert refused.reason == 'refused' and refused.attempts == 2
    assert refused.prompt_variant == REFUSAL_RETRY_VARIANT
    assert 'after a first refusal' in refused.detail
    assert records['c2'].reason == 'non_json'
    assert len(fake.generate_calls('c2')) == 1
    assert records['c3'].prompt_variant is None
    assert summary.calls == 6 + 2  # both second prompts are counted


def test_server_without_response_format(fake, clips_root):
    fake.accept_response_format = False
    fake.fence = True  # such models often fence their JSON
    summary, records = generate(fake, clips_root, max_concurrency=1)
    assert summary.ok == 6
    calls = fake.generate_calls()
    assert 'response_format' in calls[0].body
    assert all('response_format' not in c.body for c in calls[1:])
    assert records['c0'].attempts == 2 and records['c1'].attempts == 1
    # Concurrent clips that all hit the 400 are each sent again.
    (clips_root / 'priors.jsonl').unlink()
    summary, records = generate(fake, clips_root, max_concurrency=3)
    assert summary.ok == 6 and sum(r.attempts for r in records.values()) <= 9
    # Asked for a schema explicitly: the server's 400 is the clip's failure.
    (clips_root / 'priors.jsonl').unlink()
    summary, _ = generate(fake, clips_root, structured_output='json_schema')
    assert summary.failed == {'client_error': 6}
    (clips_root / 'priors.jsonl').unlink()
    summary, _ = generate(fake, clips_root, structured_output='none')
    assert summary.ok == 6


def test_missing_frames_recorded_without_a_call(fake, clips_root):
    import shutil
    shutil.rmtree(clips_root / 'frames' / 'c5')
    _, records = generate(fake, clips_root)
    assert records['c5'].reason == 'missing_input'
    assert records['c5'].attempts == 0 and fake.generate_calls('c5') == []


def test_concurrency_bounded_and_overlapping(fake, clips_root):
    fake.latency = 0.3
    start = time.monotonic()
    summary, _ = generate(fake, clips_root, max_concurrency=3)
    assert summary.ok == 6 and fake.max_inflight == 3
    assert time.monotonic() - start < 6 * 0.3 / 2


def test_frames_and_audio_decoded_from_the_video(fake, tmp_path):
    from mer_toolbox.media.demo_assets import write_synthetic_clip
    make_clips(str(tmp_path), ['v0', 'v1'])
    write_synthetic_clip(str(tmp_path / 'video' / 'v0.mp4'))
    write_synthetic_clip(str(tmp_path / 'video' / 'v1.mp4'))
    _, records = generate(fake, tmp_path, frame_dir=None, num_frames=4,
                          audio='input_audio', max_concurrency=1)
    assert records['v0'].ok
    body = fake.generate_calls()[0].body
    images = image_parts(body)
    assert len(images) == 4 and images[0][:3] == b'\xff\xd8\xff'  # JPEG
    audio = [p for p in body['messages'][0]['content']
             if p['type'] == 'input_audio'][0]['input_audio']
    assert audio['format'] == 'wav'
    assert base64.b64decode(audio['data'])[:4] == b'RIFF'
    # Prosody as text: measured from the audio (the demo clip is a tone),
    # or read from a prosody file when it has the clip.
    prosody = tmp_path / 'prosody.csv'
    prosody.write_text('name,pitch_mean_hz,energy_db\nv1,205,-21.5\n')
    (tmp_path / 'priors.jsonl').unlink()
    generate(fake, tmp_path, frame_dir=None, audio='prosody',
             prosody_file=str(prosody), max_concurrency=1)
    notes = [[p['text'] for p in c.body['messages'][0]['content']
              if p['type'] == 'text'][-1] for c in fake.generate_calls()[2:]]
    assert 'mean pitch' in notes[0] and 'dBFS' in notes[0]
    assert notes[1].endswith('mean pitch 205 Hz, loudness -21.5 dBFS. Use '
                             'these figures for prosody_reasoning.')


def test_retry_after_header_forms():
    assert retry_after_seconds('3') == 3.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds('Wed, 21 Oct 2015 07:28:00 GMT') == 0.0
    assert retry_after_seconds('soon') is None


def test_measured_prosody_of_a_tone():
    import numpy as np

    from mer_toolbox.priors.clip_media import measure_prosody
    rate = 16000
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate)
    values = measure_prosody(tone, rate)
    assert values['pitch_mean_hz'] == pytest.approx(220, rel=0.02)
    assert values['energy_db'] == pytest.approx(20 * np.log10(0.3 / 2**0.5),
                                                abs=0.1)
    assert measure_prosody(np.zeros(rate), rate) == {}
