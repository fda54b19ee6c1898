"""The prior record: one teacher's judgement of one clip, validated.

A record is keyed by ``(name, teacher, prompt_version)`` (:attr:`PriorRecord.key`)
so priors from different teachers or prompt revisions never mix. Its fields:

=====================  ========================================================
``name``               clip id
``teacher``            teacher id (e.g. ``gemini-2.5-flash``, ``rule-based``)
``prompt_version``     prompt / rule-set revision the record came from
``status``             ``'ok'`` or ``'failed'``
``reason``, ``detail`` failed only: a category (:data:`FAILURE_REASONS`, or a
                       plugin's own) and a message (secrets redacted)
``label``              the teacher's emotion, one of the dataset's classes
``scores``             class -> score in ``[0, 1]`` (independent scores, need
                       not sum to 1; the label need not be their argmax)
``action_units``       sorted FACS ids (:data:`.facs.VALID_AUS`)
``visual_reasoning``   what the face shows (AUs over the frames)
``prosody_reasoning``  what the voice shows (pitch, energy, rate, quality)
``subtitle_semantics`` what the words say
``reasoning``          the overall judgement (imported priors may carry only
                       this one paragraph)
``contributions``      ``{'video', 'audio', 'text'}`` -> weight, sum 1
``usage``              ``input_tokens`` / ``output_tokens`` the call billed
``attempts``           calls made for this record (retries included)
``prompt_variant``     None, or the prompt variant that produced the record
                       (``refusal-retry-v1``: asked again after a refusal)
``model_version``      what the API reported serving, if anything
``created_at``         ISO-8601 UTC time the record was made
=====================  ========================================================

Teacher output is checked by :func:`record_from_payload`, stored and loaded
records by :meth:`PriorRecord.validate`. Anything off raises
:class:`PriorValidationError`; callers record it as a failure. Nothing is
clipped, renamed or dropped to make a reply fit.
"""
import math
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .clip_name import clip_name
from .facs import VALID_AUS

STATUS_OK = 'ok'
STATUS_FAILED = 'failed'
CONTRIBUTION_KEYS = ('video', 'audio', 'text')

#: Failure categories the shipped generators record.
FAILURE_REASONS = (
    'refused',            # declined ("cannot determine"), safety-blocked or
                          # empty answer (detail says which)
    'non_json',           # the model's text is not JSON
    'schema_violation',   # JSON, but not a valid prior (detail says what)
    'max_tokens',         # the reply was cut at the output limit
    'rate_limited',       # 429 after every retry
    'server_error',       # 5xx after every retry
    'client_error',       # other 4xx (bad request for this clip)
    'bad_response_body',  # HTTP 200 whose body was not JSON, after retries
    'connection_error',   # connection dropped, after retries
    'timeout',            # no answer in time, after retries
    'upload_failed',      # the Files API upload did not become usable
    'missing_input',      # the clip's video / detections are not there
    'other',              # anything else (detail says what)
)

#: Reply keys a teacher must return (see :func:`record_from_payload`).
PAYLOAD_KEYS = ('visual_reasoning', 'action_units', 'prosody_reasoning',
                'subtitle_semantics', 'reasoning', 'contributions', 'scores',
                'label')


class PriorValidationError(ValueError):
    """A prior (teacher reply or stored record) breaks the schema."""


def utc_now() -> str:
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


@dataclass
class PriorRecord:
    """One clip's prior (see module doc for the meaning of each field)."""

    name: str
    teacher: str
    prompt_version: str
    status: str = STATUS_OK
    reason: Optional[str] = None
    detail: Optional[str] = None
    label: Optional[str] = None
    scores: Dict[str, float] = field(default_factory=dict)
    action_units: List[int] = field(default_factory=list)
    visual_reasoning: str = ''
    prosody_reasoning: str = ''
    subtitle_semantics: str = ''
    reasoning: str = ''
    contributions: Dict[str, float] = field(default_factory=dict)
    usage: Dict[str, int] = field(default_factory=dict)
    attempts: int = 1
    prompt_variant: Optional[str] = None
    model_version: Optional[str] = None
    created_at: str = field(default_factory=utc_now)

    @property
    def key(self) -> Tuple[str, str, str]:
        return (self.name, self.teacher, self.prompt_version)

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'PriorRecord':
        """Build from a stored dict; unknown keys raise (a newer format?)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PriorValidationError(f'unknown record keys {unknown}')
        return cls(**data)

    @classmethod
    def failure(cls, name: str, teacher: str, prompt_version: str,
                reason: str, detail: str = '', **kwargs) -> 'PriorRecord':
        """A failed record; ``detail`` is cut to 500 characters."""
        return cls(name=name, teacher=teacher, prompt_version=prompt_version,
                   status=STATUS_FAILED, reason=reason,
                   detail=detail[:500], **kwargs)

    def validate(self, classes: Optional[Sequence[str]] = None
                 ) -> 'PriorRecord':
        """Check the record; return it, or raise :class:`PriorValidationError`.

        Args:
            classes: the dataset's class list; when given, ``label`` and the
                ``scores`` keys must match it exactly.
        """
        where = f'prior {self.name!r} ({self.teacher}/{self.prompt_version})'
        if not (self.name and self.teacher and self.prompt_version):
            raise PriorValidationError(
                f'{where}: name, teacher and prompt_version must be set')
        try:
            clip_name(self.name, 'prior')
        except ValueError as err:
            raise PriorValidationError(str(err)) from None
        if self.status == STATUS_FAILED:
            if not self.reason:
                raise PriorValidationError(f'{where}: failed without reason')
            return self
        if self.status != STATUS_OK:
            raise PriorValidationError(
                f'{where}: status {self.status!r} is not ok/failed')
        problems = _check_label_scores(self.label, self.scores, classes)
        problems += _check_action_units(self.action_units)
        problems += _check_weights(self.contributions)
        for key in ('visual_reasoning', 'prosody_reasoning',
                    'subtitle_semantics', 'reasoning'):
            if not isinstance(getattr(self, key), str):
                problems.append(f'{key} must be a string')
        if problems:
            raise PriorValidationError(f'{where}: ' + '; '.join(problems))
        return self


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _check_label_scores(label: Any, scores: Any,
                        classes: Optional[Sequence[str]]) -> List[str]:
    problems = []
    if not isinstance(scores, dict) or not scores:
        return [f'scores must be a non-empty class -> number mapping, '
                f'got {scores!r}']
    expected = list(classes) if classes is not None else list(scores)
    if set(scores) != set(expected):
        problems.append(f'score classes {sorted(scores)} != dataset classes '
                        f'{sorted(expected)}')
    bad = {k: v for k, v in scores.items()
           if not _is_number(v) or not 0.0 <= v <= 1.0}
    if bad:
        problems.append(f'scores outside [0, 1] or not numbers: {bad}')
    if label not in expected:
        problems.append(f'label {label!r} is not one of {expected}')
    return problems


def _check_action_units(aus: Any) -> List[str]:
    if not isinstance(aus, list) or not all(
            isinstance(a, int) and not isinstance(a, bool) for a in aus):
        return [f'action_units must be a list of integers, got {aus!r}']
    invalid = sorted(set(aus) - set(VALID_AUS))
    problems = [f'not FACS action units: {invalid}'] if invalid else []
    if len(set(aus)) != len(aus):
        problems.append(f'action_units repeat ids: {aus}')
    return problems


def _check_weights(weights: Any, total: float = 1.0,
                   tolerance: float = 1e-6) -> List[str]:
    if not isinstance(weights, dict) or set(weights) != set(
            CONTRIBUTION_KEYS):
        return [f'contributions must have exactly the keys '
                f'{list(CONTRIBUTION_KEYS)}, got {weights!r}']
    if not all(_is_number(v) and v >= 0 for v in weights.values()):
        return [f'contributions must be non-negative numbers: {weights}']
    if abs(sum(weights.values()) - total) > tolerance:
        return [f'contributions sum to {sum(weights.values()):g}, expected '
                f'{total:g} (tolerance {tolerance:g})']
    return []


def normalise_percentages(percent: Mapping[str, Any],
                          tolerance: float = 2.0) -> Dict[str, float]:
    """Turn ``{'video': 40, 'audio': 30, 'text': 30}`` into weights summing to 1.

    Args:
        percent: modality -> percentage, the three :data:`CONTRIBUTION_KEYS`.
        tolerance: how far (percentage points) the sum may stray from 100;
            rounding (33/33/33) is fine, 50/50/50 is a wrong answer.

    Raises:
        PriorValidationError: wrong keys, negative values or a bad sum.
    """
    if not isinstance(percent, Mapping):
        raise PriorValidationError(f'expected a mapping, got {percent!r}')
    problems = _check_weights(dict(percent), total=100.0, tolerance=tolerance)
    if problems:
        raise PriorValidationError('; '.join(problems))
    total = float(sum(percent.values()))
    return {k: float(percent[k]) / total for k in CONTRIBUTION_KEYS}


def record_from_payload(payload: Any, *, name: str, teacher: str,
                        prompt_version: str, classes: Sequence[str],
                        percent_tolerance: float = 2.0,
                        **extra: Any) -> PriorRecord:
    """Validate a teacher's JSON reply (keys :data:`PAYLOAD_KEYS`) into a record.

    ``contributions`` arrive as percentages summing to 100 and are stored as
    weights summing to 1; every other value is stored as given (action units
    sorted). Reasoning strings must be non-empty.

    Args:
        payload: the decoded JSON reply.
        name, teacher, prompt_version: the record key.
        classes: the dataset's class list.
        percent_tolerance: see :func:`normalise_percentages`.
        **extra: more record fields (``usage``, ``attempts``, ...).

    Raises:
        PriorValidationError: saying every problem found.
    """
    if not isinstance(payload, dict):
        raise PriorValidationError(
            f'reply is a JSON {type(payload).__name__}, expected an object')
    problems = []
    missing = [k for k in PAYLOAD_KEYS if k not in payload]
    unknown = sorted(set(payload) - set(PAYLOAD_KEYS))
    if missing:
        problems.append(f'missing keys {missing}')
    if unknown:
        problems.append(f'unexpected keys {unknown}')
    for key in ('visual_reasoning', 'prosody_reasoning', 'subtitle_semantics',
                'reasoning'):
        value = payload.get(key)
        if key in payload and (not isinstance(value, str) or not value.strip()):
            problems.append(f'{key} must be a non-empty string')
    if 'scores' in payload or 'label' in payload:
        problems += _check_label_scores(payload.get('label'),
                                        payload.get('scores'), classes)
    if 'action_units' in payload:
        problems += _check_action_units(payload['action_units'])
    weights = None
    if 'contributions' in payload:
        try:
            weights = normalise_percentages(payload['contributions'],
                                            percent_tolerance)
        except PriorValidationError as err:
            problems.append(f'contributions (percent): {err}')
    if problems:
        raise PriorValidationError('; '.join(problems))
    return PriorRecord(
        name=name, teacher=teacher, prompt_version=prompt_version,
        label=payload['label'],
        scores={c: float(payload['scores'][c]) for c in classes},
        action_units=sorted(payload['action_units']),
        visual_reasoning=payload['visual_reasoning'],
        prosody_reasoning=payload['prosody_reasoning'],
        subtitle_semantics=payload['subtitle_semantics'],
        reasoning=payload['reasoning'], contributions=weights,
        **extra).validate(classes)
