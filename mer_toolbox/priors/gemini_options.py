"""The Gemini teacher's settings, grouped by what they are about.

Each group is a small frozen dataclass; a config gives it as a dict
(``client=dict(base_url=...)``). Field names are the teacher's former flat
argument names, so an old flat config still builds (see
:func:`group_options`).
"""
import dataclasses
import logging
from dataclasses import dataclass
from typing import (Any, Dict, Mapping, Optional, Tuple, Type, TypeVar,
                    Union)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GeminiGeneration:
    """What the model is asked for.

    Args:
        temperature: sampling temperature (low: reproducible judgements).
        max_output_tokens: reply limit (thinking tokens count against it).
        thinking_budget: thinking token budget; None keeps the API default.
    """

    temperature: float = 0.2
    max_output_tokens: int = 4096
    thinking_budget: Optional[int] = None


@dataclass(frozen=True)
class GeminiClient:
    """How requests reach the API, and how many at once.

    Args:
        base_url: endpoint; None uses ``GOOGLE_GEMINI_BASE_URL`` or the SDK
            default.
        api_version: API version in the URL path.
        timeout_s: per request.
        max_concurrency: clips in flight.
        requests_per_minute: attempt rate limit (a token bucket; every
            attempt, upload and status poll takes a token); None: none.
        api_key_env: environment variables searched for the key, in order
            (the SDK's precedence); the key itself is never a setting.
    """

    base_url: Optional[str] = None
    api_version: str = 'v1beta'
    timeout_s: float = 120.0
    max_concurrency: int = 8
    requests_per_minute: Optional[float] = 60
    api_key_env: Tuple[str, ...] = ('GOOGLE_API_KEY', 'GEMINI_API_KEY')


@dataclass(frozen=True)
class GeminiRetry:
    """When a failed request is sent again.

    Args:
        max_attempts: per call, the first included.
        backoff_initial_s: first retry delay; doubles per attempt.
        backoff_max_s: delay ceiling, also caps a 429's ``retryDelay``.
        retry_refusals: ask a refused clip once more with a second prompt
            variant.
    """

    max_attempts: int = 5
    backoff_initial_s: float = 2.0
    backoff_max_s: float = 60.0
    retry_refusals: bool = False


@dataclass(frozen=True)
class GeminiUpload:
    """How a clip's video travels.

    Args:
        inline_max_bytes: larger videos go through the Files API. Default
            14 MiB: base64 inflates by 4/3 and inline requests are capped
            at about 20 MB.
        video_mime_type: MIME type of the clips.
        file_poll_s: interval while an upload is PROCESSING.
        file_ready_timeout_s: give up on an upload that never turns ACTIVE.
        delete_uploaded: delete uploaded files after use.
    """

    inline_max_bytes: int = 14 * 2**20
    video_mime_type: str = 'video/mp4'
    file_poll_s: float = 2.0
    file_ready_timeout_s: float = 300.0
    delete_uploaded: bool = True


@dataclass(frozen=True)
class GeminiPricing:
    """Prices of the tokens the API reports, and what dry runs assume.

    Args:
        price_input_per_1m: USD per 1M input tokens (an assumption: see
            docs/priors.md).
        price_output_per_1m: USD per 1M output tokens, thinking included.
        assumed_output_tokens: reply tokens assumed by dry-run estimates.
        assumed_clip_seconds: clip length assumed by dry-run estimates.
        video_tokens_per_second: tokens per second of video (frames +
            audio) assumed by dry-run estimates.
    """

    price_input_per_1m: float = 0.30
    price_output_per_1m: float = 2.50
    assumed_output_tokens: int = 1500
    assumed_clip_seconds: float = 6.0
    video_tokens_per_second: float = 300.0


#: Argument name of each group in ``GeminiPriorGenerator``.
GROUPS: Dict[str, type] = dict(generation=GeminiGeneration,
                               client=GeminiClient, retry=GeminiRetry,
                               upload=GeminiUpload, pricing=GeminiPricing)

Group = TypeVar('Group')


def as_group(cls: Type[Group], value: Union[None, Group, Mapping[str, Any]],
             arg: str) -> Group:
    """``value`` (None, an instance or a dict of fields) as a ``cls``.

    Raises:
        TypeError: a key that is not one of ``cls``'s fields, or a value
            of another type.
    """
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(f'{arg} must be a dict of {cls.__name__} fields, got '
                        f'{type(value).__name__}')
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(value) - set(names))
    if unknown:
        raise TypeError(f'{arg}= got unknown keys {unknown}; its keys are '
                        f'{names}')
    return cls(**value)


def grouped(flat: Mapping[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Flat settings sorted into their groups.

    ``{'max_attempts': 3, 'base_url': u}`` -> ``{'retry': {'max_attempts':
    3}, 'client': {'base_url': u}}``.

    Raises:
        TypeError: a key no group has.
    """
    owner = {f.name: arg for arg, cls in GROUPS.items()
             for f in dataclasses.fields(cls)}
    unknown = sorted(set(flat) - set(owner))
    if unknown:
        layout = ', '.join(
            f'{arg}=dict({", ".join(f.name for f in dataclasses.fields(c))})'
            for arg, c in GROUPS.items())
        raise TypeError(f'GeminiPriorGenerator got unknown arguments '
                        f'{unknown}; its settings are {layout}')
    out: Dict[str, Dict[str, Any]] = {}
    for key, value in flat.items():
        out.setdefault(owner[key], {})[key] = value
    return out


def group_options(groups: Mapping[str, Any],
                  flat: Mapping[str, Any]) -> Dict[str, Any]:
    """Every group built, flat (pre-grouping) arguments moved into theirs.

    A flat argument (``max_attempts=3``) goes to the group that has a field
    of its name (``retry``), with a warning that names the new spelling.

    Args:
        groups: ``{group argument: None | instance | dict}``.
        flat: the remaining keyword arguments.

    Returns:
        ``{group argument: instance}`` for every name in :data:`GROUPS`.

    Raises:
        TypeError: a flat argument no group has.
        ValueError: a setting given both flat and in its group.
    """
    moved = grouped(flat)
    merged: Dict[str, Any] = dict(groups)
    for arg, keys in moved.items():
        given = groups.get(arg)
        # an instance sets every field, a dict the keys it has
        given = dataclasses.asdict(given) if dataclasses.is_dataclass(
            given) else dict(given or {})
        twice = sorted(set(keys) & set(given))
        if twice:
            raise ValueError(f'{twice} given both as arguments and in '
                             f'{arg}=; set them once, in {arg}=dict(...)')
        merged[arg] = {**given, **keys}
    if moved:
        logger.warning('GeminiPriorGenerator: flat arguments %s are read '
                       'into their groups; write them as %s', sorted(flat),
                       ', '.join(f'{a}=dict({", ".join(sorted(v))})'
                                 for a, v in moved.items()))
    return {arg: as_group(cls, merged.get(arg), arg)
            for arg, cls in GROUPS.items()}
