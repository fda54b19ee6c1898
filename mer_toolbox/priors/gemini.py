"""The Gemini teacher, through the ``google-genai`` SDK (imported lazily).

One clip is one ``generateContent`` call: the video (inline below
``inline_max_bytes``, else uploaded through the Files API), the versioned
prompt with the subtitle, and a response schema for structured JSON output.

Retries are ours, not the SDK's: the SDK retries neither a dropped connection
nor a 200 whose body is not JSON, and its retries would bypass the
requests-per-minute limiter. Every attempt takes a limiter token; 429 / 408 /
5xx, timeouts, dropped connections and non-JSON bodies back off exponentially
with jitter (a 429's ``retryDelay`` hint is honoured up to
``backoff_max_s``). Replies that arrive but are unusable (refused, blocked,
empty, not JSON, off-schema, cut at the token limit) are *not* retried (they
are billed): they become failed records, which ``--retry-failed`` sends again
(a refusal is asked once more with a second prompt variant when
``retry_refusals``). Key, retries, cost and reply checks are shared with the
other API teachers (:mod:`.api_teacher`).

The API key comes from the environment only (``GOOGLE_API_KEY`` then
``GEMINI_API_KEY``, the SDK's own precedence); the endpoint from
``base_url`` or the SDK's ``GOOGLE_GEMINI_BASE_URL``. Every failure text is
redacted before it is recorded. A rejected key stops the run.
"""
import asyncio
import dataclasses
import logging
import os.path as osp
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

from ..constants import MER2024_CLASSES
from ..fileio.prior_record import PriorRecord
from ..registry import PRIOR_GENERATORS
from .api_teacher import REFUSED, ApiPriorGenerator
from ..fileio.clip_list import Clip
from .gemini_options import (GeminiClient, GeminiGeneration, GeminiPricing,
                             GeminiRetry, GeminiUpload, group_options)
from .prompt import PROMPT_VERSION, build_prompt, response_schema
from .retrying import GiveUp

logger = logging.getLogger(__name__)

_BLOCKED = {'SAFETY', 'PROHIBITED_CONTENT', 'BLOCKLIST', 'SPII',
            'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT'}
_COMPLETE = {'STOP', 'FINISH_REASON_UNSPECIFIED', None}
#: A settings group: a dict of its fields, or the dataclass itself.
Settings = Union[Mapping[str, Any], GeminiGeneration, GeminiClient,
                 GeminiRetry, GeminiUpload, GeminiPricing]


@PRIOR_GENERATORS.register_module()
class GeminiPriorGenerator(ApiPriorGenerator):
    """Reasoning priors from Gemini (the paper's teacher).

    Settings come in groups (dicts in a config, or the dataclasses of
    :mod:`.gemini_options`); every key is optional::

        generation = dict(temperature, max_output_tokens, thinking_budget)
        client     = dict(base_url, api_version, timeout_s, max_concurrency,
                          requests_per_minute, api_key_env)
        retry      = dict(max_attempts, backoff_initial_s, backoff_max_s,
                          retry_refusals)
        upload     = dict(inline_max_bytes, video_mime_type, file_poll_s,
                          file_ready_timeout_s, delete_uploaded)
        pricing    = dict(price_input_per_1m, price_output_per_1m,
                          assumed_output_tokens, assumed_clip_seconds,
                          video_tokens_per_second)

    Defaults: 60 requests/min, 8 clips in flight, 5 attempts, prices 0.30 /
    2.50 USD per 1M tokens (an assumption: see docs/priors.md). The key is
    read from ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY`` and is required.

    Args:
        model: model id sent to the API; also the default ``teacher``.
        classes: the dataset's classes (the prompt and schema use them).
        teacher: teacher id in the records; default ``model``.
        generation, client, retry, upload, pricing: the groups above.
        api_key: must stay None (keys come from the environment only).
        **flat: the groups' keys given flat, as configs written before the
            grouping do: moved into their group, with a warning.

    Raises:
        TypeError: a key no group has.
        ValueError: a key given both flat and in its group, an
            ``api_key``, or ``max_attempts < 1``.
    """

    API_DEFAULTS = dict(ApiPriorGenerator.API_DEFAULTS, key_required=True)

    def __init__(self, model: str = 'gemini-2.5-flash',
                 classes: Sequence[str] = MER2024_CLASSES,
                 teacher: Optional[str] = None,
                 generation: Optional[Settings] = None,
                 client: Optional[Settings] = None,
                 retry: Optional[Settings] = None,
                 upload: Optional[Settings] = None,
                 pricing: Optional[Settings] = None,
                 api_key: None = None, **flat: Any) -> None:
        groups = group_options(dict(generation=generation, client=client,
                                    retry=retry, upload=upload,
                                    pricing=pricing), flat)
        self.generation: GeminiGeneration = groups['generation']
        self.client: GeminiClient = groups['client']
        self.retry: GeminiRetry = groups['retry']
        self.upload: GeminiUpload = groups['upload']
        self.pricing: GeminiPricing = groups['pricing']
        # the shared API machinery (key, retry policy, cost) reads these
        shared = ApiPriorGenerator.API_DEFAULTS
        api = {k: v for group in (self.client, self.retry, self.pricing)
               for k, v in dataclasses.asdict(group).items() if k in shared}
        super().__init__(teacher or model, PROMPT_VERSION, classes,
                         api_key=api_key, **api)
        self.model = model
        self._client = None
        self._generate_config = None

    # --- lifecycle -----------------------------------------------------------
    def setup(self) -> None:
        """Read the key and build the async client (no network yet)."""
        from google import genai
        from google.genai import types
        key = self.open_calls()  # key_required: never None here
        options = types.HttpOptions(base_url=self.client.base_url,
                                    api_version=self.client.api_version,
                                    timeout=int(self.timeout_s * 1000))
        self._client = genai.Client(api_key=key.reveal(),
                                    http_options=options)
        # Built once: validating the schema per call costs milliseconds of
        # event-loop time, which caps throughput at high concurrency.
        self._generate_config = self._config()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aio.aclose()
            self._client = None

    # --- pricing -------------------------------------------------------------
    def media_tokens(self) -> float:
        return (self.pricing.assumed_clip_seconds
                * self.pricing.video_tokens_per_second)

    def describe(self, clips: Sequence[Clip]) -> str:
        return self.describe_calls(clips, [
            f'GeminiPriorGenerator: model {self.model}, teacher '
            f'{self.teacher!r}, prompt {self.prompt_version}, temperature '
            f'{self.generation.temperature}, concurrency '
            f'{self.max_concurrency}, {self.requests_per_minute} '
            'requests/min'],
            f'{self.pricing.assumed_clip_seconds:g} s of video at '
            f'{self.pricing.video_tokens_per_second:g} tokens/s')

    # --- one clip ------------------------------------------------------------
    def _config(self):
        from google.genai import types
        budget = self.generation.thinking_budget
        thinking = (types.ThinkingConfig(thinking_budget=budget)
                    if budget is not None else None)
        return types.GenerateContentConfig(
            temperature=self.generation.temperature,
            max_output_tokens=self.generation.max_output_tokens,
            response_mime_type='application/json',
            response_schema=response_schema(self.classes),
            thinking_config=thinking)

    async def agenerate(self, clip: Clip) -> PriorRecord:
        from google.genai import types
        if self._client is None:
            self.setup()
        if clip.video is None or not osp.isfile(clip.video):
            return self.failure(clip, 'missing_input',
                                f'video not found: {clip.video}', attempts=0)
        uploaded, upload_calls = None, 0
        mime = self.upload.video_mime_type
        try:
            if osp.getsize(clip.video) > self.upload.inline_max_bytes:
                uploaded, upload_calls = await self._upload(clip)
                video = types.Part.from_uri(file_uri=uploaded.uri,
                                            mime_type=mime)
            else:
                # up to inline_max_bytes (14 MiB) read off the event loop,
                # which keeps serving the other clips' calls meanwhile
                data = await asyncio.to_thread(_read_bytes, clip.video)
                video = types.Part.from_bytes(data=data, mime_type=mime)
            prompt = build_prompt(clip.subtitle, self.classes)

            async def send(note: str) -> PriorRecord:
                contents = [video, prompt] + ([note] if note else [])
                return await self.request(
                    clip, lambda: self._client.aio.models.generate_content(
                        model=self.model, contents=contents,
                        config=self._generate_config), self._to_record)
            record = await self.ask(clip, send)
            # the upload and its status polls are calls for this clip too
            record.attempts += upload_calls
            return record
        except GiveUp as stop:  # the upload failed; stop counts its calls
            return self.failure(clip, stop.reason, self._redact(stop.detail),
                                attempts=stop.attempts)
        finally:
            if uploaded is not None and self.upload.delete_uploaded:
                await self._delete(uploaded)

    def _to_record(self, clip: Clip, response: Any,
                   attempts: int) -> PriorRecord:
        meta = response.usage_metadata
        usage = {'input_tokens': (meta and meta.prompt_token_count) or 0,
                 'output_tokens': ((meta and meta.candidates_token_count) or 0)
                 + ((meta and meta.thoughts_token_count) or 0)}
        extra = dict(usage=usage, attempts=attempts,
                     model_version=response.model_version)
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            return self.failure(clip, REFUSED, 'safety block: prompt blocked '
                                f'({_enum_name(feedback.block_reason)})',
                                **extra)
        if not response.candidates:
            return self.failure(clip, REFUSED, 'empty answer: no candidates',
                                **extra)
        candidate = response.candidates[0]
        finish = _enum_name(candidate.finish_reason)
        if finish in _BLOCKED:
            return self.failure(clip, REFUSED,
                                f'safety block: finish reason {finish}',
                                **extra)
        parts = (candidate.content and candidate.content.parts) or []
        # a server may echo the key (in any encoding) inside the reply text,
        # which would otherwise land in a valid record of the store
        text = self._redact(
            ''.join(p.text for p in parts if p.text and not p.thought))
        if finish == 'MAX_TOKENS':
            return self.failure(clip, 'max_tokens', 'reply cut at '
                                f'{self.generation.max_output_tokens} tokens',
                                **extra)
        if finish not in _COMPLETE:  # e.g. RECITATION: the text may be cut
            return self.failure(clip, 'other', f'finish reason {finish}',
                                **extra)
        return self.reply_record(clip, text, **extra)

    # --- Files API -----------------------------------------------------------
    async def _upload(self, clip: Clip) -> Tuple[Any, int]:
        """Upload the clip and wait until it is ACTIVE.

        Returns:
            ``(file, calls)``: the file, and the requests made (upload
            attempts and status polls, retries included).

        Raises:
            GiveUp: the upload failed; its ``attempts`` are the requests
                made until then.
        """
        settings, calls = self.upload, 0
        try:
            uploaded, calls = await self._retry.call(
                clip.name, lambda: self._client.aio.files.upload(
                    file=clip.video,
                    config={'mime_type': settings.video_mime_type}))
        except GiveUp as stop:
            raise GiveUp('upload_failed', f'{stop.reason}: {stop.detail}',
                         stop.attempts) from None
        waited = 0.0
        while _enum_name(uploaded.state) == 'PROCESSING':
            if waited >= settings.file_ready_timeout_s:
                raise GiveUp('upload_failed', f'{uploaded.name} still '
                             f'PROCESSING after {waited:.0f} s', calls)
            await asyncio.sleep(settings.file_poll_s)
            waited += settings.file_poll_s
            name = uploaded.name
            try:
                uploaded, polls = await self._retry.call(
                    clip.name, lambda: self._client.aio.files.get(name=name))
            except GiveUp as stop:  # its own reason, all calls counted
                raise GiveUp(stop.reason, stop.detail,
                             calls + stop.attempts) from None
            calls += polls
        if _enum_name(uploaded.state) not in ('ACTIVE', None):
            raise GiveUp('upload_failed', f'{uploaded.name} is '
                         f'{_enum_name(uploaded.state)}', calls)
        return uploaded, calls

    async def _delete(self, uploaded: Any) -> None:
        try:
            await self._client.aio.files.delete(name=uploaded.name)
        except Exception as err:  # files expire on their own; never fatal
            logger.info('could not delete %s: %s', uploaded.name,
                        self._redact(str(err)))


def _read_bytes(path: str) -> bytes:
    with open(path, 'rb') as f:
        return f.read()


def _enum_name(value: Any) -> Optional[str]:
    if value is None:
        return None
    return getattr(value, 'value', None) or str(value)
