"""Progress reports: a tqdm bar on a terminal, plain periodic lines anywhere else.

Every progress display of the package goes through ``progress_bar(...)``. When the stream (stderr
by default) is not a terminal — a log file, a pipe, CI — a bar's ``\\r`` redraws would fill the
log, so a ``PlainProgress`` prints one line each 10% of the total (or each 30 s, whichever comes
first) and a closing line. A bar shown only while it runs (``leave=False``: the epochs inside a
fold) prints only the 30-second lines.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from tqdm.auto import tqdm

PLAIN_STEP = 0.10  # a line each 10% of the total
PLAIN_SECONDS = 30.0  # ... or each 30 s


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    disable: bool = False,
    leave: bool = True,
    position: int | None = None,
    stream: TextIO | None = None,
) -> Any:
    """A progress display over ``iterable`` (or updated by hand up to ``total``): tqdm on a
    terminal, ``PlainProgress`` otherwise. Both offer iteration, ``update``, ``set_postfix``,
    ``write``, ``close`` and the ``with`` statement.

    Eight parameters: tqdm's own keyword arguments, by name, so a caller's call reads the same
    whichever display it gets."""
    stream = sys.stderr if stream is None else stream
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    if _is_terminal(stream):
        return tqdm(
            iterable,
            total=total,
            desc=desc,
            unit=unit,
            disable=disable,
            leave=leave,
            position=position,
            file=stream,
        )
    return PlainProgress(
        iterable, total=total, desc=desc, unit=unit, disable=disable, leave=leave, stream=stream
    )


class PlainProgress:
    """tqdm's interface, printing ``desc: n/total units (p%), t s elapsed[, postfix]`` lines."""

    def __init__(
        self,
        iterable: Iterable[Any] | None = None,
        *,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        disable: bool = False,
        leave: bool = True,
        stream: TextIO,
        clock: Any = time.monotonic,
    ) -> None:
        """The iterable and seven keyword arguments: tqdm's own (total, desc, unit, disable,
        leave), so both displays are made alike, plus the stream and a clock (tests fake it)."""
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc.strip(), unit
        self.disable, self.leave, self.stream, self.clock = disable, leave, stream, clock
        self.n, self.postfix, self.closed, self.shown = 0, "", False, 0
        self.start = self.last_time = clock()
        self.last_step = 0  # the 10% steps already reported

    def __iter__(self) -> Iterator[Any]:
        for item in self.iterable or ():
            yield item
            self.update(1)
        self.close()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.disable:
            return
        now = self.clock()
        step = int(self.n / self.total / PLAIN_STEP) if self.leave and self.total else 0
        if step > self.last_step or now - self.last_time >= PLAIN_SECONDS:
            self.last_step = max(step, self.last_step)
            self._line(now)

    def set_postfix(self, **values: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def write(self, message: str, file: TextIO | None = None) -> None:
        print(message, file=file or self.stream, flush=True)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if (
            not self.disable
            and self.leave
            and self.n
            and (self.total is None or self.last_step * PLAIN_STEP < 1)
        ):
            self._line(self.clock())

    def _line(self, now: float) -> None:
        self.last_time, self.shown = now, self.n
        done = f"{self.n}/{self.total}" if self.total else str(self.n)
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        tail = f", {self.postfix}" if self.postfix else ""
        head = f"{self.desc}: " if self.desc else ""
        unit = plural(self.unit, self.total or self.n)
        print(f"{head}{done} {unit}{share}, {now - self.start:.0f} s{tail}", file=self.stream, flush=True)


def plural(unit: str, count: int) -> str:
    """``unit`` for ``count`` of them: "1 frame", "472 frames" ("it", tqdm's default, stays)."""
    return unit if count == 1 or unit == "it" or unit.endswith("s") else unit + "s"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False
