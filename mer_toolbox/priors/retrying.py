"""Retrying teacher calls: which errors are transient, backoff, rate limit.

Classification of what a teacher's HTTP stack raises (by class name where the
HTTP backend varies: google-genai may run on httpx, httpx2 or aiohttp, and
this module imports none of them). :func:`classify_error` reads google-genai's
errors, :func:`classify_status` any HTTP status (the OpenAI-compatible
teacher uses it), :func:`classify_transport_error` what no status explains:

==========================================  ======================  ========
error                                       failure reason          retried
==========================================  ======================  ========
HTTP 401 / 403, ``API_KEY_INVALID``         (stops the run)         -
HTTP 429                                    ``rate_limited``        yes
HTTP 408, timeouts                          ``timeout``             yes
HTTP 5xx                                    ``server_error``        yes
HTTP 200 whose body is not JSON             ``bad_response_body``   yes
connection dropped / refused                ``connection_error``    yes
other HTTP 4xx                              ``client_error``        no
anything else                               (a bug: re-raised)      -
==========================================  ======================  ========
"""
import asyncio
import json
import logging
import random
import re
from typing import Any, Awaitable, Callable, List, Optional, Tuple

from .ratelimit import AsyncRateLimiter

logger = logging.getLogger(__name__)
#: ``(error, redact) -> (failure reason, retryable, retry-delay hint)``.
Classifier = Callable[[Exception, Callable[[str], str]],
                      Tuple[str, bool, Optional[float]]]


class FatalTeacherError(RuntimeError):
    """A condition no clip would survive (e.g. the API key is rejected)."""


class GiveUp(Exception):
    """Retries exhausted or not retryable: record the clip as failed.

    Args:
        reason: failure category for the record.
        detail: message for the record (already redacted).
        attempts: calls made.
    """

    def __init__(self, reason: str, detail: str, attempts: int) -> None:
        super().__init__(detail)
        self.reason, self.detail, self.attempts = reason, detail, attempts


class RetryPolicy:
    """Calls with a rate limit, a timeout and exponential backoff.

    Args:
        limiter: every attempt takes one of its tokens.
        max_attempts: attempts per call, the first included.
        timeout_s: per-attempt timeout (a safety net around the SDK's own).
        backoff_initial_s: first retry delay; doubles per attempt.
        backoff_max_s: delay ceiling (also caps a server's retry hint).
        redact: applied to every error text before it is kept or logged.
        classify: ``(error, redact) -> (reason, retryable, retry hint)``;
            default :func:`classify_error` (google-genai's errors).
    """

    def __init__(self, limiter: AsyncRateLimiter, max_attempts: int,
                 timeout_s: float, backoff_initial_s: float,
                 backoff_max_s: float, redact: Callable[[str], str],
                 classify: Optional[Classifier] = None) -> None:
        self.limiter = limiter
        self.max_attempts = max_attempts
        self.timeout_s = timeout_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.redact = redact
        self.classify = classify or classify_error

    async def call(self, what: str, make_call: Callable[[], Awaitable[Any]]
                   ) -> Tuple[Any, int]:
        """Await ``make_call()`` until it succeeds; ``(result, attempts)``.

        Raises:
            GiveUp: a non-retryable error, or the last attempt failed.
            FatalTeacherError: the key was rejected.
        """
        for attempt in range(1, self.max_attempts + 1):
            await self.limiter.acquire()
            try:
                # A few seconds over the SDK's timeout: this one only catches
                # what hangs outside the HTTP exchange.
                result = await asyncio.wait_for(make_call(),
                                                self.timeout_s + 5)
                return result, attempt
            except Exception as err:
                reason, retry, hint = self.classify(err, self.redact)
                detail = self.redact(f'{type(err).__name__}: {err}')[:500]
                if not retry or attempt == self.max_attempts:
                    raise GiveUp(reason, detail, attempt) from None
                delay = self.backoff(attempt, hint)
                logger.info('%s: %s (attempt %d/%d), retrying in %.1f s',
                            what, reason, attempt, self.max_attempts, delay)
                await asyncio.sleep(delay)
        raise AssertionError('unreachable')

    def backoff(self, attempt: int, hint: Optional[float] = None) -> float:
        """Delay before attempt ``attempt + 1``, in seconds."""
        base = min(self.backoff_max_s,
                   self.backoff_initial_s * 2 ** (attempt - 1))
        # Equal jitter: half fixed, half random, so clients that failed
        # together do not retry together.
        delay = base / 2 + random.uniform(0, base / 2)
        if hint is not None:
            delay = max(delay, min(hint, self.backoff_max_s))
        return delay


def classify_error(err: Exception, redact: Callable[[str], str]
                   ) -> Tuple[str, bool, Optional[float]]:
    """``(failure reason, retryable, server's retry-delay hint)`` for ``err``.

    Raises:
        FatalTeacherError: the API rejected the key.
        Exception: ``err`` itself when it is not a teacher failure (a bug).
    """
    from google.genai import errors
    if isinstance(err, errors.APIError):
        if 'API_KEY_INVALID' in str(err.details):
            raise FatalTeacherError('the API rejected the key: '
                                    + redact(str(err.message))) from None
        hint = retry_delay(err.details) if err.code == 429 else None
        verdict = classify_status(err.code or 0, str(err.message), redact,
                                  hint)
        if verdict[0] == 'client_error' and isinstance(
                err, errors.UnknownApiResponseError):
            return 'bad_response_body', True, None
        return verdict
    return classify_transport_error(err)


def classify_status(code: int, message: str, redact: Callable[[str], str],
                    hint: Optional[float] = None
                    ) -> Tuple[str, bool, Optional[float]]:
    """``(reason, retryable, hint)`` for an HTTP error status ``code``.

    Raises:
        FatalTeacherError: 401 / 403, the server rejected the key.
    """
    if code in (401, 403):
        raise FatalTeacherError(f'the API rejected the key ({code}): '
                                + redact(message)) from None
    if code == 429:
        return 'rate_limited', True, hint
    if code == 408:
        return 'timeout', True, None
    if code >= 500:
        return 'server_error', True, None
    return 'client_error', False, None


def classify_transport_error(err: Exception
                             ) -> Tuple[str, bool, Optional[float]]:
    """``(reason, retryable, None)`` for an error without an HTTP status.

    Raises:
        Exception: ``err`` itself when it is not a teacher failure (a bug).
    """
    if isinstance(err, json.JSONDecodeError):  # a 200 with a broken body
        return 'bad_response_body', True, None
    # Before OSError: TimeoutError is one.
    if isinstance(err, asyncio.TimeoutError) or _named(err, 'Timeout'):
        return 'timeout', True, None
    if isinstance(err, (ConnectionError, OSError)) or _named(
            err, 'TransportError', 'ClientConnectionError',
            'ServerDisconnectedError', 'NetworkError', 'RemoteProtocolError'):
        return 'connection_error', True, None
    raise err


def _named(err: Exception, *names: str) -> bool:
    """Whether a class in ``err``'s MRO has a name containing one of ``names``."""
    return any(n in cls.__name__ for cls in type(err).__mro__ for n in names)


def retry_delay(details: Any) -> Optional[float]:
    """``retryDelay`` ("13s") from a 429's RetryInfo detail, if present."""
    items: List[Any] = []
    if isinstance(details, dict):
        items = (details.get('error') or {}).get('details') or []
    for item in items:
        match = re.fullmatch(r'([\d.]+)s', str(item.get('retryDelay', '')))
        if match:
            return float(match.group(1))
    return None
