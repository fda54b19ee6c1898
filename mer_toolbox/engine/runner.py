"""The Runner the tools build: the safe checkpoint loader registered
explicitly, MMEngine's long start-up listings kept in the log file."""
import logging
import sys
from contextlib import redirect_stdout

from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from ..utils.log_filters import DropMessages
from .checkpoint import use_safe_checkpoint_loader

#: Start-up records that go to the log file only: the environment report,
#: the config dump, the hook order (about 270 lines before the first
#: training line) and which loader read a checkpoint.
FILE_ONLY_MESSAGES = (
    '\n' + '-' * 60 + '\nSystem environment:',
    'Config:\n',
    'Distributed training is not used, all SyncBatchNorm',
    'Hooks will be executed in the following order',
    'Loads checkpoint by ',
)


class MERRunner(Runner):
    """MMEngine's ``Runner`` whose console leaves out :data:`FILE_ONLY_MESSAGES`
    (the log file keeps them, and the console says where it is) and
    MMEngine's printed "Loads checkpoint by ... backend" line."""

    def build_logger(self, log_level='INFO', log_file=None,
                     **kwargs) -> MMLogger:
        logger = super().build_logger(log_level, log_file, **kwargs)
        consoles = [h for h in logger.handlers
                    if type(h) is logging.StreamHandler]
        for handler in consoles:
            if not any(isinstance(f, DropMessages) for f in handler.filters):
                handler.addFilter(DropMessages(FILE_ONLY_MESSAGES))
        files = [h.baseFilename for h in logger.handlers
                 if isinstance(h, logging.FileHandler)]
        if consoles and files:
            logger.info(f'environment, config and hook order: {files[0]}')
        return logger

    def load_checkpoint(self, filename: str, *args, **kwargs) -> dict:
        with redirect_stdout(_StdoutWithout(sys.stdout,
                                            'Loads checkpoint by ')):
            return super().load_checkpoint(filename, *args, **kwargs)


class _StdoutWithout:
    """``sys.stdout`` minus the lines that start with ``prefix``.

    MMEngine *prints* (no logger) "Loads checkpoint by <loader> backend from
    path: ..." whenever the Runner loads a checkpoint; the Runner's own log
    line "Load checkpoint from ..." already says it.
    """

    def __init__(self, stream, prefix: str) -> None:
        self._stream, self._prefix, self._in_dropped = stream, prefix, False

    def write(self, text: str) -> int:
        # print() writes the message, then its end ('\n') separately
        if text.startswith(self._prefix) or (self._in_dropped
                                             and text == '\n'):
            self._in_dropped = text != '\n'
            return len(text)
        self._in_dropped = False
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def build_runner(cfg: Config, trust_checkpoint: bool = False) -> Runner:
    """A :class:`MERRunner` from a config, with the checkpoint loading
    policy of :mod:`.checkpoint` in place.

    Args:
        cfg: a full config (``load_config`` in ``engine.setup_env``).
        trust_checkpoint: full pickle for the checkpoints this run loads
            (only for files you produced).
    """
    use_safe_checkpoint_loader(trusted=trust_checkpoint)
    return MERRunner.from_cfg(cfg)
