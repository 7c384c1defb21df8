"""What a library may print while a command runs: torch's own log records stay off the terminal.

torch gives its ``torch`` logger a handler on stderr that prints warnings as glog lines
(``W1207 04:05:35.855000 15857 torch/export/pt2_archive/_package.py:1121] Unable to load
package...``): noise to a user, who gets one ``lfd-tcmen:`` line per problem instead. For the
command's duration, records of ``torch`` below ERROR are dropped; an error still shows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

QUIET_LOGGERS = ("torch",)  # their descendants inherit the level (torch sets none of its own below)


@contextmanager
def library_logs_quiet() -> Iterator[None]:
    """Raise ``QUIET_LOGGERS`` to ERROR for the ``with`` block, then put their levels back."""
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.level, logging.ERROR))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
