"""API keys: read from the environment only, and kept out of every output.

A key never lives in a config, a record, a log line or a config dump. The
generator keeps it in a :class:`Secret` (whose ``repr`` hides it) and passes
every failure message, and the teacher's reply text, through
:meth:`Secret.redact` before recording it; redaction covers the key's
encoded forms too (percent-encoding, base64, hex).
"""
import base64
import logging
import os
from typing import List, Optional, Sequence
from urllib.parse import quote, quote_plus

# shorter encoded fragments could match ordinary text
_MIN_FRAGMENT = 8


def _base64_fragments(raw: bytes) -> List[str]:
    """The base64 characters that depend only on ``raw``, for each of the
    three alignments ``raw`` can have inside a longer encoded message (e.g.
    ``base64('user:' + key)`` in a Basic auth header)."""
    out = []
    for offset in range(3):
        first = -(-offset * 8 // 6)  # chars touching the bytes before
        last = (offset + len(raw)) * 8 // 6  # ... and the bytes after
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(bytes(offset) + raw + bytes(2)).decode('ascii')
            out.append(text[first:last])
    return out


def encoded_forms(value: str) -> List[str]:
    """``value`` and the ways a server or library may write it: percent
    encoded (upper- and lower-case escapes, ``+`` for spaces), base64
    (standard and URL-safe, at any alignment), hex. Longest first."""
    raw = value.encode('utf-8')
    forms = {value, quote(value), quote(value, safe=''), quote_plus(value),
             quote_plus(value, safe=''),
             raw.hex(), raw.hex().upper(),
             ''.join(f'%{b:02X}' for b in raw)}  # every byte escaped
    forms |= {f.lower() for f in list(forms) if '%' in f}
    forms |= set(_base64_fragments(raw))
    return sorted((f for f in forms if len(f) >= min(_MIN_FRAGMENT,
                                                     len(value))),
                  key=len, reverse=True)


class Secret:
    """A string that never shows itself in ``repr`` / ``str``."""

    def __init__(self, value: str) -> None:
        self._value = value
        self._forms = encoded_forms(value) if value else []

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the secret replaced, in any of
        its :func:`encoded_forms` (a server may echo it percent-encoded in a
        URL, or base64-encoded in a header)."""
        for form in self._forms:
            text = text.replace(form, '<redacted>')
        return text

    def __repr__(self) -> str:
        return 'Secret(<redacted>)'

    __str__ = __repr__


def key_from_env(names: Sequence[str]) -> Optional[Secret]:
    """The first non-empty environment variable among ``names``, or None."""
    for name in names:
        value = os.environ.get(name, '').strip()
        if value:
            return Secret(value)
    return None


class RedactingFilter:
    """A ``logging`` filter that blanks secrets out of every record.

    Defence in depth: our own messages never contain a key, but a library's
    might (an exception text, a debug dump of a request).

    Args:
        secrets: the values to hide (e.g. from :func:`key_from_env`).
    """

    def __init__(self, secrets: Sequence[Secret]) -> None:
        self.secrets = [s for s in secrets if s is not None]

    def filter(self, record) -> bool:
        message = record.getMessage()
        for secret in self.secrets:
            message = secret.redact(message)
        record.msg, record.args = message, None
        if record.exc_info:  # tracebacks are formatted later: do it now
            text = logging.Formatter().formatException(record.exc_info)
            for secret in self.secrets:
                text = secret.redact(text)
            record.exc_info, record.exc_text = None, text
        return True
