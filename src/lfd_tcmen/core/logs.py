"""Status lines: the console's and each run folder's ``run.log``, through Python's ``logging``.

Every status line of the package (a command's opening line, a note, a warning, a fold done, an
epoch's losses) is a record of the ``lfd_tcmen`` logger (each module logs to its own child,
``logging.getLogger(__name__)``). Results (tables, JSON) are printed on stdout by the CLI and
progress bars drawn by ``progress``; neither is a record. Two handlers take the records:

    with console(logging.INFO):          # stderr, for a command's duration (the CLI: -v DEBUG, -q WARNING)
        with run_log([out]):             # OUT/run.log while a run writes OUT
            log.info("...")              # -> the console (from its level up) and every open run.log
            log.info("...", extra={"runs": (out,)})      # -> among the run logs, OUT's (and a folder's above it)
            log.info("...", extra={"console": False})    # -> the run logs, not the console

The console shows a record's message as written (warnings carry their ``lfd-tcmen: warning:``),
so a command's stderr reads as it did with print. A run.log holds every record from DEBUG up,
with time and level: what the console showed of the command (the records before the log was
opened are replayed from ``console``'s memory), plus the debug lines. It is appended to, so a
resumed run continues its log.

Only the process that writes the run folder logs to it: folds trained in worker processes come
back as results, and this process writes their lines (``runs.experiment``). So lines of folds
trained at once never interleave, and the log needs no lock.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tqdm import tqdm

LOGGER = "lfd_tcmen"
RUN_LOG = "run.log"
REPLAYED = 2000  # records of the command kept for a run log opened later (its opening lines)
_FILE_FORMAT = logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%d %H:%M:%S")


class _Console(logging.Handler):
    """A record's message on the current ``sys.stderr`` (looked up per line: tests and callers
    swap it), written through tqdm so that a progress bar being drawn is not broken."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.addFilter(lambda record: getattr(record, "console", True))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
            sys.stderr.flush()
        except Exception:  # a closed stderr (output piped into `head`): logging's own rule
            self.handleError(record)


class _Memory(logging.Handler):
    """The command's records so far (the last ``REPLAYED``), for a run log opened later."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: deque[logging.LogRecord] = deque(maxlen=REPLAYED)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class _RunLog(logging.FileHandler):
    """``FOLDER/run.log``: every record from DEBUG up but those addressed to runs elsewhere."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder / RUN_LOG, mode="a", encoding="utf-8")
        self.folder = folder
        self.setLevel(logging.DEBUG)
        self.setFormatter(_FILE_FORMAT)
        self.addFilter(lambda record: any(_within(run, folder) for run in getattr(record, "runs", (folder,))))


def _within(run: Path, folder: Path) -> bool:
    """Whether a record of run folder ``run`` belongs in ``folder``'s log: its own, or a folder
    above it (a multi-seed run's, a benchmark's)."""
    return run == folder or folder in run.parents


@contextmanager
def _debug_level() -> Iterator[logging.Logger]:
    """The package's logger passing every record to its handlers for the ``with`` block (each
    handler keeps its own level); its level restored after."""
    logger = logging.getLogger(LOGGER)
    before = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield logger
    finally:
        logger.setLevel(before)


@contextmanager
def console(level: int = logging.INFO) -> Iterator[None]:
    """The package's records from ``level`` up on stderr for the ``with`` block (a command's
    duration), and the block's records kept for run logs opened during it."""
    with _debug_level() as logger:
        handlers = [_Console(level), _Memory()]
        for handler in handlers:
            logger.addHandler(handler)
        try:
            yield
        finally:
            for handler in handlers:
                logger.removeHandler(handler)


@contextmanager
def run_log(folders: Sequence[Path]) -> Iterator[None]:
    """``FOLDER/run.log`` for each of ``folders`` (which exist) for the ``with`` block: the
    command's records so far, then every record of the block, and how the block ended when it
    ended by an exception (which the caller reports on the console itself)."""
    with _debug_level() as logger, ExitStack() as stack:
        earlier = [r for h in logger.handlers if isinstance(h, _Memory) for r in h.records]
        if not any(isinstance(h, _Console) for h in logger.handlers):  # Python, not the CLI:
            stack.enter_context(_attached(logger, _Console(logging.WARNING)))  # warnings on stderr still
        for folder in folders:
            handler = stack.enter_context(_attached(logger, _RunLog(Path(folder))))
            for record in earlier:
                handler.handle(record)
        try:
            yield
        except BaseException as err:
            how = "interrupted" if isinstance(err, KeyboardInterrupt) else f"stopped: {err}"
            logger.error(how, extra={"console": False})
            raise


@contextmanager
def _attached(logger: logging.Logger, handler: logging.Handler) -> Iterator[logging.Handler]:
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        handler.close()


@contextmanager
def warnings_as_lines() -> Iterator[None]:
    """Python warnings raised in the block (annotation quirks: an apex outside the interval, ...)
    as one ``lfd-tcmen: warning:`` log line each, not Python's ``UserWarning`` format."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for warning in caught:
                logging.getLogger(__name__).warning(f"lfd-tcmen: warning: {warning.message}")
