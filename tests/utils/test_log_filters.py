"""Muting known MMEngine messages for a block, and only those."""
import logging

from mmengine.logging import MMLogger, print_log

from mer_toolbox.utils.log_filters import muted_messages


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_muted_messages_drops_only_matching_records_inside_the_block():
    logger = MMLogger.get_instance('log_filters_test')
    collect = _Collect()
    logger.addHandler(collect)
    try:
        with muted_messages('"FileClient" will be deprecated'):
            print_log('"FileClient" will be deprecated in future.',
                      logger='current', level=logging.WARNING)
            print_log('a real warning', logger='current',
                      level=logging.WARNING)
        print_log('"FileClient" will be deprecated in future, again.',
                  logger='current', level=logging.WARNING)
    finally:
        logger.removeHandler(collect)
    assert collect.messages == [
        'a real warning', '"FileClient" will be deprecated in future, again.']
    assert not logger.filters

