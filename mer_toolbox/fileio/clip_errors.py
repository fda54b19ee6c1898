"""Per-clip failures of the raw-media path, with a short, countable reason.

Extraction never stops on one bad clip: everything that goes wrong with a
clip's *data* raises :class:`ClipError`, which the runner records (clip,
feature set, reason, detail) and counts by ``reason`` in its summary.
Problems with the *configuration* (unknown encoder, unreadable model folder)
raise ordinary exceptions instead and stop the run before any clip.
"""
from typing import Optional

# The reasons the summary counts. Anything else is 'unexpected error'.
UNREADABLE_PATH = 'unreadable path'
CORRUPT_FILE = 'corrupt file'
ZERO_LENGTH = 'zero-length clip'
NO_VIDEO = 'no video stream'
NO_AUDIO = 'no audio stream'
AUDIO_TOO_SHORT = 'audio too short'
NO_FACE = 'no face found'
MISSING_SUBTITLE = 'missing subtitle'
ENCODER_ERROR = 'encoder error'
UNEXPECTED = 'unexpected error'


class ClipError(Exception):
    """One clip (or one feature set of it) could not be extracted.

    Args:
        reason: one of the reason constants of this module.
        detail: human-readable specifics (file, stream, numbers).
    """

    def __init__(self, reason: str, detail: Optional[str] = None) -> None:
        self.reason = reason
        self.detail = detail or ''
        super().__init__(f'{reason}: {detail}' if detail else reason)
