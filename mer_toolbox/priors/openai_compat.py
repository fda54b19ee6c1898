"""A teacher behind any OpenAI-compatible chat-completions server.

vLLM, SGLang, Ollama, LM Studio, llama.cpp's server and hosted APIs all take
``POST {base_url}/chat/completions``. One clip is one request (two after a
refusal, with ``retry_refusals``): the versioned prompt with the subtitle,
``num_frames`` face frames as ``image_url`` data URLs, and the audio either as
an ``input_audio`` WAV part (models that hear: ``audio='input_audio'``) or as
a text description of its prosody (``audio='prosody'``, the default; see
:mod:`.clip_media`).

Structured output: ``response_format`` with the prior's JSON schema
(``structured_output='json_schema'``), ``{'type': 'json_object'}``, or none
(``'none'``: the reply is parsed, fenced JSON included, then validated). The
default ``'auto'`` sends the schema and, if the server rejects
``response_format`` with a 4xx, stops sending it for the rest of the run
(logged once). Either way the reply is validated like Gemini's.

Retries, backoff (a 429's ``Retry-After`` honoured up to ``backoff_max_s``),
rate limit, timeouts, cost, key hygiene and reply checks are the shared
:class:`~.api_teacher.ApiPriorGenerator`'s. The key (``OPENAI_API_KEY`` by
default) is optional: local servers need none; when set it goes in the
``Authorization`` header only. HTTP goes through ``httpx2`` (imported in
:meth:`OpenAICompatiblePriorGenerator.setup`; the ``openai`` extra).
"""
import asyncio
import base64
import email.utils
import logging
import time
from typing import Any, Dict, List, Optional, Sequence

from ..constants import MER2024_CLASSES
from ..registry import PRIOR_GENERATORS
from .api_teacher import REFUSED, ApiPriorGenerator
from .clip_media import (ChatMedia, MissingMedia, describe_prosody,
                         frames_note)
from ..fileio.clip_list import Clip
from .prompt import build_prompt, response_schema
from .retrying import classify_status, classify_transport_error
from ..fileio.prior_record import PriorRecord

logger = logging.getLogger(__name__)

STRUCTURED_MODES = ('auto', 'json_schema', 'json_object', 'none')


class HttpStatusError(Exception):
    """A 4xx / 5xx reply: status, the start of its body, Retry-After (s)."""

    def __init__(self, status: int, message: str,
                 retry_after: Optional[float]) -> None:
        super().__init__(f'HTTP {status}: {message}')
        self.status, self.message, self.retry_after = (status, message,
                                                       retry_after)


def retry_after_seconds(value: Optional[str]) -> Optional[float]:
    """A ``Retry-After`` header (seconds or an HTTP date) in seconds."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _classify(err: Exception, redact):
    if isinstance(err, HttpStatusError):
        return classify_status(err.status, err.message, redact,
                               err.retry_after)
    return classify_transport_error(err)


def json_schema(classes: Sequence[str] = MER2024_CLASSES) -> dict:
    """The reply schema (:func:`.prompt.response_schema`) as JSON Schema."""
    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(n) for n in node]
        if not isinstance(node, dict):
            return node
        out = {k: (v.lower() if k == 'type' else convert(v))
               for k, v in node.items() if k != 'propertyOrdering'}
        if out.get('type') == 'object':
            out['additionalProperties'] = False
        return out
    return convert(response_schema(classes))


@PRIOR_GENERATORS.register_module()
class OpenAICompatiblePriorGenerator(ApiPriorGenerator):
    """Reasoning priors from a model behind an OpenAI-compatible server.

    Args:
        model: model name the server serves; also the default ``teacher``.
        base_url: API root, e.g. ``http://127.0.0.1:8000/v1`` (vLLM),
            ``http://127.0.0.1:11434/v1`` (Ollama).
        classes: the dataset's classes.
        teacher: teacher id in the records; default ``model``.
        temperature: sampling temperature.
        max_tokens: reply limit.
        structured_output: ``'auto'``, ``'json_schema'``, ``'json_object'``
            or ``'none'`` (module doc).
        num_frames: face frames sent per clip.
        frame_dir: folder of ``<name>/*.jpg|png`` face crops; None decodes
            the clip's video (PyAV).
        frame_max_side: decoded frames are downscaled to this longer side.
        audio: ``'prosody'`` (text description), ``'input_audio'`` (WAV
            part) or ``'none'``.
        prosody_file: per-clip prosody statistics (the offline teacher's
            CSV / JSON); clips it lacks are measured from their audio.
        audio_sample_rate: sample rate of decoded audio.
        extra_body: more request fields (e.g. vLLM's
            ``chat_template_kwargs``).
        assumed_image_tokens: tokens per frame assumed by dry-run estimates.
        api_key, **api_options: see
            :class:`~.api_teacher.ApiPriorGenerator`; defaults in
            :attr:`API_DEFAULTS` (key optional, from ``OPENAI_API_KEY``; no
            rate limit; prices 0, a local server).
    """

    API_DEFAULTS = dict(ApiPriorGenerator.API_DEFAULTS,
                        api_key_env=('OPENAI_API_KEY',))

    def __init__(self, model: str,
                 base_url: str = 'http://127.0.0.1:8000/v1',
                 classes: Sequence[str] = MER2024_CLASSES,
                 teacher: Optional[str] = None,
                 temperature: float = 0.2,
                 max_tokens: int = 2048,
                 structured_output: str = 'auto',
                 num_frames: int = 8,
                 frame_dir: Optional[str] = None,
                 frame_max_side: Optional[int] = 448,
                 audio: str = 'prosody',
                 prosody_file: Optional[str] = None,
                 audio_sample_rate: int = 16000,
                 extra_body: Optional[Dict[str, Any]] = None,
                 assumed_image_tokens: int = 256,
                 api_key: None = None, **api_options) -> None:
        if structured_output not in STRUCTURED_MODES:
            raise ValueError(f'structured_output must be one of '
                             f'{STRUCTURED_MODES}, got {structured_output!r}')
        media = ChatMedia(num_frames, frame_dir, frame_max_side, audio,
                          prosody_file, audio_sample_rate)
        super().__init__(teacher or model, media.prompt_version, classes,
                         api_key=api_key, **api_options)
        self.model = model
        self.base_url = base_url.rstrip('/')
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.structured_output = structured_output
        self.media = media
        self.extra_body = dict(extra_body or {})
        self.assumed_image_tokens = assumed_image_tokens
        self._format: Optional[dict] = None
        self._client = None

    # --- lifecycle -----------------------------------------------------------
    def setup(self) -> None:
        """Read the key (optional) and open the HTTP client."""
        import httpx2
        key = self.open_calls(_classify)
        headers = {'Authorization': f'Bearer {key.reveal()}'} if key else {}
        self._client = httpx2.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=self.timeout_s,
            limits=httpx2.Limits(max_connections=self.max_concurrency,
                                 max_keepalive_connections=self.max_concurrency))
        schema = {'type': 'json_schema', 'json_schema': {
            'name': 'reasoning_prior', 'strict': True,
            'schema': json_schema(self.classes)}}
        self._format = {'auto': schema, 'json_schema': schema, 'none': None,
                        'json_object': {'type': 'json_object'}
                        }[self.structured_output]

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- pricing -------------------------------------------------------------
    def media_tokens(self) -> float:
        return self.media.num_frames * self.assumed_image_tokens

    def describe(self, clips: Sequence[Clip]) -> str:
        return self.describe_calls(clips, [
            f'OpenAICompatiblePriorGenerator: {self.base_url}, model '
            f'{self.model}, teacher {self.teacher!r}, prompt '
            f'{self.prompt_version}, structured output '
            f'{self.structured_output}, concurrency {self.max_concurrency}, '
            f'{self.requests_per_minute or "no"} requests/min limit',
            f'per clip: {self.media.describe()}'],
            f'{self.media.num_frames} frames at {self.assumed_image_tokens} '
            'tokens')

    # --- one clip ------------------------------------------------------------
    def _media_parts(self, clip: Clip) -> List[dict]:
        """Frames and audio of ``clip`` as content parts (blocking I/O)."""
        frames = self.media.frames(clip)
        parts: List[dict] = [{'type': 'text',
                              'text': frames_note(len(frames))}]
        parts += [{'type': 'image_url', 'image_url': {
            'url': f'data:{f.mime};base64,'
                   + base64.b64encode(f.data).decode('ascii')}}
            for f in frames]
        wav = self.media.wav(clip) if self.media.audio == 'input_audio' \
            else None
        if wav is not None:
            return parts + [{'type': 'input_audio', 'input_audio': {
                'data': base64.b64encode(wav).decode('ascii'),
                'format': 'wav'}}]
        note = (describe_prosody(None) if self.media.audio == 'input_audio'
                else self.media.audio_note(clip))
        return parts + [{'type': 'text', 'text': note}]

    def _body(self, clip: Clip, media: List[dict], note: str) -> dict:
        content = [{'type': 'text',
                    'text': build_prompt(clip.subtitle, self.classes)}]
        content += media
        if note:
            content.append({'type': 'text', 'text': note})
        body = dict(self.extra_body, model=self.model,
                    messages=[{'role': 'user', 'content': content}],
                    temperature=self.temperature, max_tokens=self.max_tokens)
        if self._format is not None:
            body['response_format'] = self._format
        return body

    async def _post(self, body: dict) -> Any:
        response = await self._client.post('/chat/completions', json=body)
        if response.status_code >= 400:
            raise HttpStatusError(
                response.status_code, response.text[:300],
                retry_after_seconds(response.headers.get('retry-after')))
        return response.json()  # a broken body raises: retried

    async def agenerate(self, clip: Clip) -> PriorRecord:
        if self._client is None:
            self.setup()
        try:
            media = await asyncio.to_thread(self._media_parts, clip)
        except MissingMedia as err:
            return self.failure(clip, 'missing_input', str(err), attempts=0)

        async def send(note: str) -> PriorRecord:
            sent_format = self._format
            record = await self.request(
                clip, lambda: self._post(self._body(clip, media, note)),
                self._to_record)
            if sent_format is not None and self._rejects_format(record):
                if self._format is not None:  # the first clip to find out
                    self._format = None
                    logger.warning('%s rejects response_format: sending no '
                                   'schema from now on (replies are '
                                   'validated after parsing)', self.base_url)
                retried = await self.request(
                    clip, lambda: self._post(self._body(clip, media, note)),
                    self._to_record)
                retried.attempts += record.attempts
                return retried
            return record
        return await self.ask(clip, send)

    def _rejects_format(self, record: PriorRecord) -> bool:
        detail = (record.detail or '').lower()
        return (self.structured_output == 'auto'
                and record.reason == 'client_error'
                and any(k in detail for k in ('response_format', 'json_schema',
                                              'guided')))

    def _to_record(self, clip: Clip, body: Any, attempts: int) -> PriorRecord:
        if not isinstance(body, dict):
            return self.failure(clip, 'bad_response_body', 'reply is a JSON '
                                f'{type(body).__name__}, expected an object',
                                attempts=attempts)
        usage = body.get('usage') or {}
        extra = dict(usage={'input_tokens': int(usage.get('prompt_tokens')
                                                or 0),
                            'output_tokens': int(usage.get(
                                'completion_tokens') or 0)},
                     attempts=attempts, model_version=body.get('model'))
        choices = body.get('choices') or []
        if not choices:
            return self.failure(clip, REFUSED, 'empty answer: no choices',
                                **extra)
        message = choices[0].get('message') or {}
        finish = choices[0].get('finish_reason')
        if message.get('refusal'):
            return self.failure(clip, REFUSED, self._redact(
                f'declined: {str(message["refusal"])[:300]!r}'), **extra)
        if finish == 'content_filter':
            return self.failure(clip, REFUSED, 'safety block: finish reason '
                                'content_filter', **extra)
        if finish == 'length':
            return self.failure(clip, 'max_tokens', 'reply cut at '
                                f'{self.max_tokens} tokens', **extra)
        content = message.get('content')
        if isinstance(content, list):  # some servers answer in parts
            content = ''.join(p.get('text') or '' for p in content
                              if isinstance(p, dict))
        return self.reply_record(clip, content, **extra)
