"""The Runner the tools build: the safe checkpoint loader registered
explicitly, MMEngine's long start-up listings kept in the log file."""
import logging

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
    (the log file keeps them, and the console says where it is)."""

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


def build_runner(cfg: Config, trust_checkpoint: bool = False) -> Runner:
    """A :class:`MERRunner` from a config, with the checkpoint loading
    policy of :mod:`.checkpoint` in place.

    Args:
        cfg: a full config (``load_config`` in ``utils.setup_env``).
        trust_checkpoint: full pickle for the checkpoints this run loads
            (only for files you produced).
    """
    use_safe_checkpoint_loader(trusted=trust_checkpoint)
    return MERRunner.from_cfg(cfg)
