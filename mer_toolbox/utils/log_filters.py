"""Keeping known, harmless MMEngine log lines out of the user's way."""
import logging
from contextlib import contextmanager
from typing import Iterator, Sequence

from mmengine.logging import MMLogger


class DropMessages(logging.Filter):
    """Drop records whose message starts with one of ``prefixes``.

    Args:
        prefixes: message beginnings to drop.
    """

    def __init__(self, prefixes: Sequence[str]) -> None:
        super().__init__()
        self.prefixes = tuple(prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefixes)


@contextmanager
def muted_messages(*prefixes: str) -> Iterator[DropMessages]:
    """Inside the block, MMEngine's current logger drops messages starting
    with ``prefixes`` (on every handler: console and log file)."""
    logger = MMLogger.get_current_instance()
    muted = DropMessages(prefixes)
    logger.addFilter(muted)
    try:
        yield muted
    finally:
        logger.removeFilter(muted)
