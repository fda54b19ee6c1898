"""What the model teachers share, written once.

:class:`ChatPriorGenerator` is the base of every teacher that answers the
prompt in text (Gemini, OpenAI-compatible servers, local transformers
MLLMs); :class:`ApiPriorGenerator` adds what teachers behind a network API
need. Together they own:

* **the key**: read from the environment only (``api_key_env``), kept in a
  :class:`~.apikey.Secret`, an ``api_key`` argument refused; a missing key
  stops the run only when ``key_required`` (local servers need none);
* **the calls**: one :class:`~.retrying.RetryPolicy` (rate limit, timeout,
  exponential backoff with jitter, the server's retry hint), a
  :class:`~.retrying.GiveUp` turned into a failed record, every failure text
  redacted;
* **cost**: tokens priced per 1M (input, output);
* **the reply**: text -> record (:meth:`ChatPriorGenerator.reply_record`):
  empty text or a refusal -> ``refused``, not JSON -> ``non_json``, off the
  schema -> ``schema_violation``;
* **refusals**: with ``retry_refusals=True`` a clip whose reply was a refusal
  is asked once more with :data:`REFUSAL_RETRY_NOTE` appended (the prompt
  variant :data:`REFUSAL_RETRY_VARIANT`). Both calls count: ``attempts`` and
  ``usage`` are their sums, and the record's ``prompt_variant`` says the
  second prompt produced it.

An API teacher opens its client in :meth:`setup` (calling
:meth:`ApiPriorGenerator.open_calls`); every teacher's ``agenerate`` sends
one request per prompt variant through :meth:`ChatPriorGenerator.ask`.
"""
import json
import re
from typing import Any, Awaitable, Callable, Dict, Optional, Sequence

from ..fileio.prior_record import PriorRecord, PriorValidationError, record_from_payload
from .apikey import Secret, key_from_env
from .base import BasePriorGenerator
from ..fileio.clip_list import Clip
from .prompt import build_prompt
from .ratelimit import AsyncRateLimiter
from .retrying import Classifier, FatalTeacherError, GiveUp, RetryPolicy

#: Failure reason of a refusal: "cannot determine", a safety block, an
#: empty answer.
REFUSED = 'refused'
#: ``prompt_variant`` of a record produced by the second, post-refusal prompt.
REFUSAL_RETRY_VARIANT = 'refusal-retry-v1'
#: Appended to the prompt after a refusal (variant :data:`REFUSAL_RETRY_VARIANT`).
REFUSAL_RETRY_NOTE = (
    'Note: this is a research annotation task on a recorded clip from an '
    'emotion recognition dataset whose speakers consented to analysis. '
    'Describing visible facial movements, the voice and the words is always '
    'possible. If the evidence is weak, say so in the reasoning, give low '
    'scores, and still choose the most likely class. Reply with the JSON '
    'object only.')

# Phrases of a model declining the task; checked only on replies that are not
# JSON, so a reasoning text that quotes one is never mistaken for a refusal.
_REFUSAL = re.compile(
    r"(?:can ?not|can['\u2019]t|unable to|not (?:possible|able) to)\s+"
    r'(?:reliably\s+|accurately\s+)?'
    r'(?:determine|identify|tell|assess|analy[sz]e|infer|judge|help|assist|'
    r'comply|provide)'
    r"|\bI['\u2019]?m sorry\b|\bI apologi[sz]e\b|\bas an AI\b"
    r'|无法(?:判断|确定|识别|分析)|抱歉', re.I)
_FENCE = re.compile(r'^\s*```(?:json)?\s*(.*?)\s*```\s*$', re.S)


def is_refusal(text: str) -> bool:
    """Whether a (non-JSON) reply declines the task."""
    return not text.strip() or bool(_REFUSAL.search(text))


def parse_json_reply(text: str) -> Any:
    """Decode a JSON reply, also when fenced in ```` ```json ````.

    Raises:
        json.JSONDecodeError: the text is not JSON.
    """
    match = _FENCE.match(text)
    return json.loads(match.group(1) if match else text)


class ChatPriorGenerator(BasePriorGenerator):
    """Base of teachers that answer the prompt in text (see module doc).

    Args:
        teacher, prompt_version, classes, max_concurrency: see
            :class:`~.base.BasePriorGenerator`.
        retry_refusals: ask once more, with :data:`REFUSAL_RETRY_NOTE`, when
            the reply is a refusal.
    """

    def __init__(self, teacher: str, prompt_version: str,
                 classes: Sequence[str], max_concurrency: int = 1,
                 retry_refusals: bool = False) -> None:
        super().__init__(teacher, prompt_version, classes, max_concurrency)
        self.retry_refusals = retry_refusals

    def _redact(self, text: str) -> str:
        """Hook: API teachers blank their key out of failure texts."""
        return text

    # --- asking --------------------------------------------------------------
    async def ask(self, clip: Clip,
                  send: Callable[[str], Awaitable[PriorRecord]]
                  ) -> PriorRecord:
        """``send('')``; after a refusal, ``send(note)`` once if enabled.

        Args:
            send: makes one request with the given extra instruction (empty:
                the plain prompt) and returns its record.
        """
        first = await send('')
        if first.ok or first.reason != REFUSED or not self.retry_refusals:
            return first
        second = await send(REFUSAL_RETRY_NOTE)
        second.attempts += first.attempts
        second.usage = {k: first.usage.get(k, 0) + second.usage.get(k, 0)
                        for k in set(first.usage) | set(second.usage)}
        second.prompt_variant = REFUSAL_RETRY_VARIANT
        if not second.ok:
            second.detail = (f'{second.detail} (after a first refusal: '
                             f'{first.detail})')[:500]
        return second

    # --- the reply -----------------------------------------------------------
    def reply_record(self, clip: Clip, text: Optional[str],
                     **extra: Any) -> PriorRecord:
        """The record for a reply's model ``text`` (``extra``: usage, ...)."""
        text = text or ''
        if not text.strip():
            return self.failure(clip, REFUSED, 'empty answer', **extra)
        try:
            payload = parse_json_reply(text)
        except json.JSONDecodeError as err:
            if is_refusal(text):
                return self.failure(clip, REFUSED, self._redact(
                    f'declined: {text[:300]!r}'), **extra)
            return self.failure(clip, 'non_json', self._redact(
                f'{err}; reply starts {text[:200]!r}'), **extra)
        try:
            return record_from_payload(
                payload, name=clip.name, teacher=self.teacher,
                prompt_version=self.prompt_version, classes=self.classes,
                **extra)
        except PriorValidationError as err:
            return self.failure(clip, 'schema_violation',
                                self._redact(str(err)), **extra)


class ApiPriorGenerator(ChatPriorGenerator):
    """Base of teachers behind a network API (see module doc).

    The options below are every API teacher's; each subclass documents only
    its own arguments and sets its defaults for these in
    :attr:`API_DEFAULTS`.

    Args:
        teacher, prompt_version, classes: see
            :class:`~.base.BasePriorGenerator`.
        api_key: must stay None; keys come from the environment only.
        **options: any of :attr:`API_DEFAULTS`:
            ``api_key_env`` (environment variables searched for the key, in
            order), ``key_required`` (a missing key stops the run before
            any call), ``max_concurrency`` (clips in flight),
            ``requests_per_minute`` (attempt rate limit, a token bucket;
            None: none), ``timeout_s`` (per request), ``max_attempts``
            (per call, the first included), ``backoff_initial_s`` (first
            retry delay; doubles per attempt), ``backoff_max_s`` (delay
            ceiling, also caps a server's hint), ``price_input_per_1m`` /
            ``price_output_per_1m`` (USD per 1M input / output tokens,
            thinking included), ``assumed_output_tokens`` (reply tokens
            assumed by dry-run estimates), ``retry_refusals`` (see
            :class:`ChatPriorGenerator`).

    Raises:
        TypeError: an option that is not one of :attr:`API_DEFAULTS`.
        ValueError: an ``api_key`` argument, or ``max_attempts < 1``.
    """

    #: The shared options and their defaults (a subclass overrides some).
    API_DEFAULTS: Dict[str, Any] = dict(
        api_key_env=(), key_required=False, max_concurrency=8,
        requests_per_minute=None, timeout_s=120.0, max_attempts=5,
        backoff_initial_s=2.0, backoff_max_s=60.0, price_input_per_1m=0.0,
        price_output_per_1m=0.0, assumed_output_tokens=1000,
        retry_refusals=False)

    def __init__(self, teacher: str, prompt_version: str,
                 classes: Sequence[str], api_key: None = None,
                 **options: Any) -> None:
        unknown = sorted(set(options) - set(self.API_DEFAULTS))
        if unknown:
            raise TypeError(f'{type(self).__name__} got unknown arguments '
                            f'{unknown}; its API options are '
                            f'{sorted(self.API_DEFAULTS)}')
        options = {**self.API_DEFAULTS, **options}
        if api_key is not None:
            raise ValueError(f'{type(self).__name__} takes no api_key: set '
                             'it in the environment ('
                             f'{", ".join(options["api_key_env"])}) so it '
                             'never reaches a config or a log')
        if options['max_attempts'] < 1:
            raise ValueError('max_attempts must be >= 1, got '
                             f'{options["max_attempts"]}')
        super().__init__(teacher, prompt_version, classes,
                         options['max_concurrency'],
                         options['retry_refusals'])
        self.api_key_env = tuple(options['api_key_env'])
        self.key_required = options['key_required']
        self.requests_per_minute = options['requests_per_minute']
        self.timeout_s = options['timeout_s']
        self.max_attempts = options['max_attempts']
        self.backoff_initial_s = options['backoff_initial_s']
        self.backoff_max_s = options['backoff_max_s']
        self.price_input_per_1m = options['price_input_per_1m']
        self.price_output_per_1m = options['price_output_per_1m']
        self.assumed_output_tokens = options['assumed_output_tokens']
        self._key: Optional[Secret] = None
        self._retry: Optional[RetryPolicy] = None

    # --- key and calls -------------------------------------------------------
    def open_calls(self, classify: Optional[Classifier] = None
                   ) -> Optional[Secret]:
        """Read the key and build the retry policy; return the key (or None).

        Raises:
            FatalTeacherError: ``key_required`` and no key is set.
        """
        self._key = key_from_env(self.api_key_env)
        if self._key is None and self.key_required:
            raise FatalTeacherError(
                f'no API key for {type(self).__name__}: set one of '
                f'{", ".join(self.api_key_env)} in the environment')
        self._retry = RetryPolicy(
            AsyncRateLimiter(self.requests_per_minute), self.max_attempts,
            self.timeout_s, self.backoff_initial_s, self.backoff_max_s,
            self._redact, classify)
        return self._key

    def _redact(self, text: str) -> str:
        return self._key.redact(text) if self._key is not None else text

    async def request(self, clip: Clip, make_call: Callable[[], Awaitable[Any]],
                      to_record: Callable[[Clip, Any, int], PriorRecord]
                      ) -> PriorRecord:
        """One call with retries; its response (or why it gave up) as a record.

        Args:
            make_call: starts one attempt (a fresh coroutine per call).
            to_record: ``(clip, response, attempts) -> record``.
        """
        try:
            response, attempts = await self._retry.call(clip.name, make_call)
        except GiveUp as stop:
            return self.failure(clip, stop.reason, self._redact(stop.detail),
                                attempts=stop.attempts)
        return to_record(clip, response, attempts)

    # --- pricing -------------------------------------------------------------
    def cost(self, usage: Dict[str, int]) -> float:
        return (usage.get('input_tokens', 0) * self.price_input_per_1m
                + usage.get('output_tokens', 0) * self.price_output_per_1m
                ) / 1e6

    def media_tokens(self) -> float:
        """Input tokens assumed for one clip's media (dry-run estimates)."""
        raise NotImplementedError

    def estimated_input_tokens(self, clip: Clip) -> int:
        """Prompt (~4 characters a token) + :meth:`media_tokens`."""
        text = len(build_prompt(clip.subtitle, self.classes)) / 4
        return int(text + self.media_tokens())

    def estimate_cost(self, clips: Sequence[Clip]) -> float:
        return sum(self.cost({'input_tokens': self.estimated_input_tokens(c),
                              'output_tokens': self.assumed_output_tokens})
                   for c in clips)

    def describe_calls(self, clips: Sequence[Clip], header: Sequence[str],
                       media: str) -> str:
        """The dry-run text: ``header`` lines, prices, estimate, prompt.

        Args:
            media: how the clip's media goes (e.g. ``'6 s of video'``).
        """
        first = clips[0] if clips else Clip('<clip>')
        return '\n'.join(list(header) + [
            f'prices (assumed, USD per 1M tokens): input '
            f'{self.price_input_per_1m}, output {self.price_output_per_1m}',
            f'estimate per call: ~{self.estimated_input_tokens(first)} input '
            f'tokens ({media} + prompt), ~{self.assumed_output_tokens} output '
            'tokens',
            f'--- prompt for {first.name} (media go as separate parts) ---',
            build_prompt(first.subtitle, self.classes),
            '--- end of prompt ---'])


__all__ = ['ApiPriorGenerator', 'ChatPriorGenerator', 'REFUSAL_RETRY_NOTE', 'REFUSAL_RETRY_VARIANT',
           'REFUSED', 'is_refusal', 'parse_json_reply']
