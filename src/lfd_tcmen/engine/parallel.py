"""Where folds run: one after another in this process, or several at once as Ray tasks.

    with make_executor(workers=2, threads=1) as executor:
        for outcome in executor.map(work, features, folds):   # in the order they finish
            ...                                               # outcome.value or outcome.error

``work(features, fold)`` is everything one fold computes (``engine.loso`` trains and probes); it
runs here, or in a Ray worker, where ``work`` and what it holds are pickled and the FeatureSet is
read from Ray's object store (``ray.put`` once per run, zero-copy in every task). A fold's
numbers do not depend on where it ran: its seed comes from the run seed and its name only, and it
trains with the config's ``train.threads`` everywhere (the thread count changes float rounding,
so it is not adapted to the worker count).

Faults:
- a worker that dies in the middle of a fold (killed, out of memory, segfault) is restarted by
  Ray and the fold rerun, up to ``retries`` times; finished folds are already with the driver;
- a fold whose ``work`` raises comes back as an outcome with ``error`` and the other folds go
  on. Exceptions are not retried: training is deterministic, it would raise again. An
  ``LFDError`` (bad input, the same for every fold) stops the run instead;
- Ctrl-C cancels the running tasks and shuts down the Ray instance this module started.

``workers == 1`` never imports Ray. ``ray_imap`` serves other per-item work (``prepare``).
"""

from __future__ import annotations

import logging
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.data.splits import Fold
from lfd_tcmen.errors import LFDError

T = TypeVar("T")
K = TypeVar("K")
FoldWork = Callable[[FeatureSet, Fold], T]
RETRIES = 2  # reruns of a task whose worker died (Ray's max_retries)


@dataclass
class FoldOutcome(Generic[T]):
    """One fold's end: ``value`` (what ``work`` returned) or ``error`` ("Type: message")."""

    fold: Fold
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


class SerialExecutor:
    """Folds one after another in this process."""

    workers = 1

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, work: FoldWork[T], features: FeatureSet, folds: Iterable[Fold]) -> Iterator[FoldOutcome[T]]:
        for fold in folds:
            try:
                value = work(features, fold)
            except LFDError:
                raise
            except Exception as err:  # a failing fold is reported; KeyboardInterrupt still stops
                yield FoldOutcome(fold, error=describe(err), traceback=traceback.format_exc())
                continue
            yield FoldOutcome(fold, value=value)


class RaySession:
    """Ray for the duration of a ``with``: the running instance if there is one, else a new one.

    ``address`` None starts a private local instance (``address="local"``) with
    ``workers * cpus_per_task`` CPUs, no dashboard, and workers at the driver's priority (Ray's
    default nices them); an address connects to that cluster.
    An instance started here is shut down on exit; tasks still running are cancelled either way.
    """

    def __init__(self, workers: int, address: str | None = None, cpus_per_task: float = 1) -> None:
        self.workers = workers
        self.address = address
        self.cpus_per_task = cpus_per_task
        self.pending: dict[Any, Any] = {}  # ObjectRef -> what it computes
        self._owned = False

    def __enter__(self) -> Any:
        try:
            import ray
        except ImportError as err:  # pragma: no cover - ray is a dependency
            raise LFDError("--workers > 1 needs the ray package (pip install ray)") from err
        self.ray = ray
        if not ray.is_initialized():
            options: dict[str, Any] = {
                "configure_logging": True,
                "logging_level": logging.ERROR,
                "log_to_driver": True,
            }
            if self.address is None:
                options.update(
                    address="local",
                    num_cpus=max(1, round(self.workers * self.cpus_per_task)),
                    include_dashboard=False,
                    # Ray nices its workers to 15; on a machine shared with other work that
                    # starves the folds (a serial run, at 0, would then beat N workers)
                    _system_config={"worker_niceness": 0},
                )
            else:
                options["address"] = self.address
            try:
                ray.init(**options)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise LFDError(f"cannot start or reach Ray ({self.address or 'local'}): {err}") from err
            self._owned = True
        return ray

    def __exit__(self, *exc: object) -> None:
        ray = self.ray
        try:
            for ref in list(self.pending):
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # already finished or gone
                    pass
            self.pending.clear()
        finally:
            if self._owned:
                ray.shutdown()
                self._owned = False

    def imap(self, remote: Any, jobs: Iterable[tuple[Any, tuple[Any, ...]]]) -> Iterator[tuple[Any, Any]]:
        """Run ``remote.remote(*args)`` for each ``(key, args)``, at most ``workers`` at a time.

        Yields ``(key, ObjectRef)`` of each finished task, in the order they finish (the caller
        ``ray.get``s it, so it decides what an error means).
        """
        queue = deque(jobs)
        while queue or self.pending:
            while queue and len(self.pending) < self.workers:
                key, args = queue.popleft()
                self.pending[remote.remote(*args)] = key
            ready, _ = self.ray.wait(list(self.pending), num_returns=1)
            for ref in ready:
                yield self.pending.pop(ref), ref


def _run_fold_task(work: FoldWork[T], features: FeatureSet, fold: Fold, threads: int) -> T:
    """Inside a Ray worker: one fold, with the config's thread count."""
    import torch

    torch.set_num_threads(threads)
    return work(features, fold)


class RayExecutor:
    """Folds as Ray tasks, ``workers`` at a time, each asking Ray for ``threads`` CPUs.

    ``use_gpu``: give each task a share of the cluster's GPUs (``min(1, GPUs / workers)``)
    when it has any (the config's ``train.device`` is not "cpu").
    """

    def __init__(
        self,
        workers: int,
        address: str | None = None,
        threads: int = 1,
        use_gpu: bool = False,
        retries: int = RETRIES,
    ) -> None:
        self.workers = workers
        self.threads = threads
        self.use_gpu = use_gpu
        self.retries = retries
        self.session = RaySession(workers, address, cpus_per_task=threads)
        self.ray: Any = None  # the module, once started

    def __enter__(self) -> RayExecutor:
        return self  # Ray starts with the first fold to run (a resumed, finished run needs none)

    def __exit__(self, *exc: object) -> None:
        if self.ray is not None:
            self.session.__exit__(*exc)
            self.ray = None

    def map(self, work: FoldWork[T], features: FeatureSet, folds: Iterable[Fold]) -> Iterator[FoldOutcome[T]]:
        folds = list(folds)
        if not folds:
            return
        if self.ray is None:
            self.ray = self.session.__enter__()
        ray = self.ray
        gpus = float(ray.cluster_resources().get("GPU", 0.0)) if self.use_gpu else 0.0
        remote = ray.remote(_run_fold_task).options(
            num_cpus=self.threads,
            num_gpus=min(1.0, gpus / self.workers) if gpus else 0,
            max_retries=self.retries,
            retry_exceptions=False,
        )
        features_ref = ray.put(features)  # once; every task maps the same buffers
        work_ref = ray.put(work)
        jobs = [(fold, (work_ref, features_ref, fold, self.threads)) for fold in folds]
        for fold, ref in self.session.imap(remote, jobs):
            yield self._outcome(fold, ref)

    def _outcome(self, fold: Fold, ref: Any) -> FoldOutcome[Any]:
        value, error, trace = fetch(self.ray, ref, self.retries, what="fold")
        return FoldOutcome(fold, value=value, error=error, traceback=trace)


def fetch(
    ray: Any, ref: Any, retries: int = RETRIES, *, what: str = "task", reraise: bool = True
) -> tuple[Any, str | None, str | None]:
    """``ray.get(ref)`` as ``(value, error, traceback)``: error None when the task finished.

    An exception the task raised comes back as "Type: message"; a worker that died on every
    attempt (``retries`` + 1) as such. With ``reraise`` an ``LFDError`` (bad input, the same
    for every task) is raised here instead.
    """
    from ray.exceptions import RayError, RayTaskError

    try:
        return ray.get(ref), None, None
    except RayTaskError as err:
        cause = getattr(err, "cause", None)
        if reraise and isinstance(cause, LFDError):
            raise cause from None
        error = describe(cause) if isinstance(cause, BaseException) else describe(err)
        return None, error, getattr(err, "traceback_str", None) or str(err)
    except RayError as err:  # the worker died on every attempt, or the task was lost
        return None, f"{describe(err)} (the {what}'s worker died; tried {retries + 1} times)", str(err)


def make_executor(
    workers: int = 1,
    address: str | None = None,
    *,
    threads: int = 1,
    use_gpu: bool = False,
    retries: int = RETRIES,
) -> SerialExecutor | RayExecutor:
    """``SerialExecutor`` for one worker (Ray untouched), else a ``RayExecutor``."""
    if workers < 1:
        raise LFDError(f"workers must be >= 1, got {workers}")
    if workers == 1:
        if address is not None:
            raise LFDError("a Ray address needs --workers 2 or more (the folds' concurrency on the cluster)")
        return SerialExecutor()
    return RayExecutor(workers, address, threads=threads, use_gpu=use_gpu, retries=retries)


def ray_imap(
    fn: Callable[..., T],
    jobs: Iterable[tuple[K, tuple[Any, ...]]],
    workers: int,
    address: str | None = None,
    retries: int = RETRIES,
) -> Iterator[tuple[K, T]]:
    """``(key, fn(*args))`` for each ``(key, args)`` job, run as Ray tasks ``workers`` at a time.

    Results come in the order they finish; an exception raised by ``fn`` is re-raised here
    (after the other tasks are cancelled). ``fn`` must be importable (a module-level function).
    """
    from ray.exceptions import RayTaskError

    session = RaySession(workers, address)
    with session as ray:
        remote = ray.remote(fn).options(num_cpus=1, max_retries=retries)
        for key, ref in session.imap(remote, jobs):
            try:
                value = ray.get(ref)
            except RayTaskError as err:
                cause = getattr(err, "cause", None)
                if isinstance(cause, Exception):
                    raise cause from None
                raise
            yield key, value
