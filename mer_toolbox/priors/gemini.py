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
import logging
import os.path as osp
from typing import Any, Optional, Sequence

from ..constants import MER2024_CLASSES
from ..fileio.prior_record import PriorRecord
from ..registry import PRIOR_GENERATORS
from .api_teacher import REFUSED, ApiPriorGenerator
from .clips import Clip
from .prompt import PROMPT_VERSION, build_prompt, response_schema
from .retrying import GiveUp

logger = logging.getLogger(__name__)

_BLOCKED = {'SAFETY', 'PROHIBITED_CONTENT', 'BLOCKLIST', 'SPII',
            'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT'}
_COMPLETE = {'STOP', 'FINISH_REASON_UNSPECIFIED', None}


@PRIOR_GENERATORS.register_module()
class GeminiPriorGenerator(ApiPriorGenerator):
    """Reasoning priors from Gemini (the paper's teacher).

    Args:
        model: model id sent to the API; also the default ``teacher``.
        classes: the dataset's classes (the prompt and schema use them).
        teacher: teacher id in the records; default ``model``.
        temperature: sampling temperature (low: reproducible judgements).
        max_output_tokens: reply limit (thinking tokens count against it).
        thinking_budget: the model's thinking token budget; None keeps the
            API default.
        base_url: API endpoint; None uses ``GOOGLE_GEMINI_BASE_URL`` or the
            SDK default.
        api_version: API version in the URL path.
        inline_max_bytes: larger videos go through the Files API. Default
            14 MiB: base64 inflates by 4/3 and inline requests are capped at
            about 20 MB.
        video_mime_type: MIME type of the clips.
        file_poll_s: interval while an upload is PROCESSING.
        file_ready_timeout_s: give up on an upload that never turns ACTIVE.
        delete_uploaded: delete uploaded files after use.
        assumed_clip_seconds: clip length assumed by dry-run estimates.
        video_tokens_per_second: tokens per second of video (frames + audio)
            assumed by dry-run estimates.
        api_key, **api_options: see
            :class:`~.api_teacher.ApiPriorGenerator`; defaults in
            :attr:`API_DEFAULTS` (key from ``GOOGLE_API_KEY`` /
            ``GEMINI_API_KEY``, required; 60 requests/min; prices 0.30 /
            2.50 USD per 1M tokens, an assumption: see docs/priors.md;
            1,500 output tokens assumed).
    """

    API_DEFAULTS = dict(
        ApiPriorGenerator.API_DEFAULTS,
        api_key_env=('GOOGLE_API_KEY', 'GEMINI_API_KEY'), key_required=True,
        requests_per_minute=60, price_input_per_1m=0.30,
        price_output_per_1m=2.50, assumed_output_tokens=1500)

    def __init__(self, model: str = 'gemini-2.5-flash',
                 classes: Sequence[str] = MER2024_CLASSES,
                 teacher: Optional[str] = None,
                 temperature: float = 0.2,
                 max_output_tokens: int = 4096,
                 thinking_budget: Optional[int] = None,
                 base_url: Optional[str] = None,
                 api_version: str = 'v1beta',
                 inline_max_bytes: int = 14 * 2**20,
                 video_mime_type: str = 'video/mp4',
                 file_poll_s: float = 2.0,
                 file_ready_timeout_s: float = 300.0,
                 delete_uploaded: bool = True,
                 assumed_clip_seconds: float = 6.0,
                 video_tokens_per_second: float = 300.0,
                 api_key: None = None, **api_options) -> None:
        super().__init__(teacher or model, PROMPT_VERSION, classes,
                         api_key=api_key, **api_options)
        self.model = model
        self.temperature = temperature
        self.max_output_tokens = max_output_tokens
        self.thinking_budget = thinking_budget
        self.base_url = base_url
        self.api_version = api_version
        self.inline_max_bytes = inline_max_bytes
        self.video_mime_type = video_mime_type
        self.file_poll_s = file_poll_s
        self.file_ready_timeout_s = file_ready_timeout_s
        self.delete_uploaded = delete_uploaded
        self.assumed_clip_seconds = assumed_clip_seconds
        self.video_tokens_per_second = video_tokens_per_second
        self._client = None
        self._generate_config = None

    # --- lifecycle -----------------------------------------------------------
    def setup(self) -> None:
        """Read the key and build the async client (no network yet)."""
        from google import genai
        from google.genai import types
        key = self.open_calls()  # key_required: never None here
        options = types.HttpOptions(base_url=self.base_url,
                                    api_version=self.api_version,
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
        return self.assumed_clip_seconds * self.video_tokens_per_second

    def describe(self, clips: Sequence[Clip]) -> str:
        return self.describe_calls(clips, [
            f'GeminiPriorGenerator: model {self.model}, teacher '
            f'{self.teacher!r}, prompt {self.prompt_version}, temperature '
            f'{self.temperature}, concurrency {self.max_concurrency}, '
            f'{self.requests_per_minute} requests/min'],
            f'{self.assumed_clip_seconds:g} s of video at '
            f'{self.video_tokens_per_second:g} tokens/s')

    # --- one clip ------------------------------------------------------------
    def _config(self):
        from google.genai import types
        thinking = (types.ThinkingConfig(thinking_budget=self.thinking_budget)
                    if self.thinking_budget is not None else None)
        return types.GenerateContentConfig(
            temperature=self.temperature,
            max_output_tokens=self.max_output_tokens,
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
        uploaded = None
        try:
            if osp.getsize(clip.video) > self.inline_max_bytes:
                uploaded = await self._upload(clip)
                video = types.Part.from_uri(file_uri=uploaded.uri,
                                            mime_type=self.video_mime_type)
            else:
                with open(clip.video, 'rb') as f:
                    video = types.Part.from_bytes(
                        data=f.read(), mime_type=self.video_mime_type)
            prompt = build_prompt(clip.subtitle, self.classes)

            async def send(note: str) -> PriorRecord:
                contents = [video, prompt] + ([note] if note else [])
                return await self.request(
                    clip, lambda: self._client.aio.models.generate_content(
                        model=self.model, contents=contents,
                        config=self._generate_config), self._to_record)
            return await self.ask(clip, send)
        except GiveUp as stop:  # the upload failed
            return self.failure(clip, stop.reason, self._redact(stop.detail),
                                attempts=stop.attempts)
        finally:
            if uploaded is not None and self.delete_uploaded:
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
                                f'{self.max_output_tokens} tokens', **extra)
        if finish not in _COMPLETE:  # e.g. RECITATION: the text may be cut
            return self.failure(clip, 'other', f'finish reason {finish}',
                                **extra)
        return self.reply_record(clip, text, **extra)

    # --- Files API -----------------------------------------------------------
    async def _upload(self, clip: Clip) -> Any:
        """Upload the clip, wait until ACTIVE; raise GiveUp on failure."""
        try:
            uploaded, _ = await self._retry.call(
                clip.name, lambda: self._client.aio.files.upload(
                    file=clip.video,
                    config={'mime_type': self.video_mime_type}))
        except GiveUp as stop:
            raise GiveUp('upload_failed', f'{stop.reason}: {stop.detail}',
                         0) from None
        waited = 0.0
        while _enum_name(uploaded.state) == 'PROCESSING':
            if waited >= self.file_ready_timeout_s:
                raise GiveUp('upload_failed', f'{uploaded.name} still '
                             f'PROCESSING after {waited:.0f} s', 0)
            await asyncio.sleep(self.file_poll_s)
            waited += self.file_poll_s
            name = uploaded.name
            uploaded, _ = await self._retry.call(
                clip.name, lambda: self._client.aio.files.get(name=name))
        if _enum_name(uploaded.state) not in ('ACTIVE', None):
            raise GiveUp('upload_failed', f'{uploaded.name} is '
                         f'{_enum_name(uploaded.state)}', 0)
        return uploaded

    async def _delete(self, uploaded: Any) -> None:
        try:
            await self._client.aio.files.delete(name=uploaded.name)
        except Exception as err:  # files expire on their own; never fatal
            logger.info('could not delete %s: %s', uploaded.name,
                        self._redact(str(err)))


def _enum_name(value: Any) -> Optional[str]:
    if value is None:
        return None
    return getattr(value, 'value', None) or str(value)
