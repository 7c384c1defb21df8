"""Where independent tasks run: here, on a local process pool, or as Ray tasks.

    with make_executor(ExecutorOptions(workers=2)) as executor:
        for outcome in executor.map(fn, shared, jobs):      # jobs: [(key, args), ...]
            ...                                              # outcome.value, or outcome.error

Each job runs ``fn(shared, *args)``. ``shared`` (e.g. the FeatureSet) travels once per worker
(process pool) or once per run (Ray's object store), never once per task. ``fn`` and ``args``
may be closures: they are sent with cloudpickle, as Ray does. Outcomes come in the order tasks
finish. Runs (``runs.experiment``) and preprocessing (``preprocess.store``) both use this module;
it imports neither.

Where they run is one ``ExecutorOptions`` (workers, engine, ray_address: the ``--workers``,
``--engine`` and ``--ray-address`` options), passed whole from the command line to the executor.

Engines (``make_executor``):
- serial: one task after another in this process (``workers`` 1; Ray is never imported);
- process: ``workers`` local processes forked from a forkserver that has imported the
  ``preload`` modules once, so the pool starts in about a second;
- ray: Ray tasks on a private local Ray (``engine="ray"``) or on the cluster at ``ray_address``.

The one error rule, the same on every engine:
- ``fn`` raises ``LFDError`` (bad input, the same for every task): it is raised to the caller
  and the tasks still running are cancelled;
- ``fn`` raises anything else: that task's outcome carries the error and its traceback, the
  other tasks go on. Not retried: tasks are deterministic, it would raise again;
- the worker process dies (killed, out of memory, segfault): the task is rerun, up to
  ``retries`` times, then its outcome says the worker died;
- Ctrl-C: running tasks are cancelled, workers stopped, ``KeyboardInterrupt`` re-raised.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from lfd_tcmen.core.errors import LFDError

K = TypeVar("K")
T = TypeVar("T")
RETRIES = 2  # reruns of a task whose worker died
ENGINES = ("process", "ray")
Job = tuple[K, tuple[Any, ...]]


@dataclass(frozen=True)
class ExecutorOptions:
    """Where independent tasks run; none of these changes a result. ``workers`` at once (1: one
    after another, here); ``engine`` "process" (a local process pool) or "ray" (Ray tasks);
    ``ray_address``: the Ray cluster to run on (implies Ray; needs ``workers`` >= 2)."""

    workers: int = 1
    engine: str = "process"
    ray_address: str | None = None

    @property
    def serial(self) -> bool:
        """One task after another in this process: one worker and no cluster."""
        return self.workers == 1 and self.ray_address is None


SERIAL = ExecutorOptions()  # the default everywhere: one task after another, here


@dataclass
class Outcome(Generic[K, T]):
    """One task's end: ``value`` (what ``fn`` returned) or ``error`` ("Type: message")."""

    key: K
    value: T | None = None
    error: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def describe(err: BaseException) -> str:
    """``"RuntimeError: message"`` on one line."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def run_task(fn: Callable[..., T], shared: Any, args: tuple[Any, ...]) -> tuple[str, Any, str | None]:
    """Run one task under the error rule: ("ok", value) / ("lfd", LFDError) / ("error", text, trace)."""
    try:
        return "ok", fn(shared, *args), None
    except LFDError as err:
        return "lfd", err, None
    except Exception as err:  # a failing task is reported; KeyboardInterrupt still stops
        return "error", describe(err), traceback.format_exc()


def to_outcome(key: Any, status: str, value: Any, trace: str | None) -> Outcome[Any, Any]:
    if status == "lfd":
        raise value
    if status == "error":
        return Outcome(key, error=value, traceback=trace)
    return Outcome(key, value=value)


class SerialExecutor:
    """Tasks one after another in this process."""

    workers = 1

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn: Callable[..., T], shared: Any, jobs: Iterable[Job[K]]) -> Iterator[Outcome[K, T]]:
        for key, args in jobs:
            yield to_outcome(key, *run_task(fn, shared, args))
