"""API keys: read from the environment only, and kept out of every output.

A key never lives in a config, a record, a log line or a config dump. The
generator keeps it in a :class:`Secret` (whose ``repr`` hides it) and passes
every failure message through :meth:`Secret.redact` before recording it.
"""
import logging
import os
from typing import Optional, Sequence


class Secret:
    """A string that never shows itself in ``repr`` / ``str``."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the secret replaced."""
        return text.replace(self._value, '<redacted>') if self._value else text

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
