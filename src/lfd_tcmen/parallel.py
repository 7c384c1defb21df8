"""Where independent tasks run: here, on a local process pool, or as Ray tasks.

    with make_executor(workers=2) as executor:
        for outcome in executor.map(fn, shared, jobs):      # jobs: [(key, args), ...]
            ...                                              # outcome.value, or outcome.error

Each job runs ``fn(shared, *args)``. ``shared`` (e.g. the FeatureSet) travels once per worker
(process pool) or once per run (Ray's object store), never once per task. ``fn`` and ``args``
may be closures: they are sent with cloudpickle, as Ray does. Outcomes come in the order tasks
finish. Runs (``runs.experiment``) and preprocessing (``preprocess.store``) both use this module;
it imports neither.

Engines (``make_executor``):
- serial: one task after another in this process (``workers`` 1; Ray is never imported);
- process: ``workers`` local processes forked from a forkserver that has imported the
  ``preload`` modules once, so the pool starts in about a second;
- ray: Ray tasks on a private local Ray (``engine="ray"``) or on the cluster at ``address``.

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

import logging
import os
import pickle
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import forkserver, get_context
from typing import Any, Generic, TypeVar

import cloudpickle

from lfd_tcmen.errors import LFDError

K = TypeVar("K")
T = TypeVar("T")
RETRIES = 2  # reruns of a task whose worker died
ENGINES = ("process", "ray")
Job = tuple[K, tuple[Any, ...]]


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


def _call(fn: Callable[..., T], shared: Any, args: tuple[Any, ...]) -> tuple[str, Any, str | None]:
    """Run one task under the error rule: ("ok", value) / ("lfd", LFDError) / ("error", text, trace)."""
    try:
        return "ok", fn(shared, *args), None
    except LFDError as err:
        return "lfd", err, None
    except Exception as err:  # a failing task is reported; KeyboardInterrupt still stops
        return "error", describe(err), traceback.format_exc()


def _outcome(key: Any, status: str, value: Any, trace: str | None) -> Outcome[Any, Any]:
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
            yield _outcome(key, *_call(fn, shared, args))


# ----------------------------------------------------------------------------- local process pool
_SHARED: Any = None  # in a pool worker: the map's shared object, unpickled once


def _init_pool_worker(shared_blob: bytes, initializer: Callable[[], None] | None, driver: int) -> None:
    """A new pool worker: ignore Ctrl-C (the driver stops the pool), die with the driver."""
    global _SHARED
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(driver,), daemon=True, name="exit-with-driver").start()
    _SHARED = pickle.loads(shared_blob)
    if initializer is not None:
        initializer()


def _exit_with(driver: int) -> None:
    """Exit this worker within a second of the driver process's end, even in the middle of a task
    (a driver killed with SIGKILL cannot stop its pool; its workers' parent is the forkserver)."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(driver, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # alive, another user's (the pid was reused): keep going
            pass


def _pool_task(blob: bytes) -> tuple[str, Any, str | None]:
    fn, args = cloudpickle.loads(blob)
    return _call(fn, _SHARED, args)


class PoolExecutor:
    """Tasks on ``workers`` local processes, at most ``workers`` in flight.

    Workers fork from a forkserver that imported ``preload`` once (a fork of a clean process,
    never of this one, which may hold torch or OpenCV threads). A pool broken by a dying worker
    is restarted; the tasks it was running are rerun (each at most ``retries`` times). A pool
    cannot tell which of its running tasks killed it, so all of them count the attempt.
    """

    def __init__(
        self,
        workers: int,
        *,
        retries: int = RETRIES,
        initializer: Callable[[], None] | None = None,
        preload: Sequence[str] = (),
    ) -> None:
        self.workers = workers
        self.retries = retries
        self.initializer = initializer
        self.preload = list(preload)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> PoolExecutor:
        # the forkserver boots (imports ``preload``) while the caller prepares its tasks; the
        # workers start with the first task (a finished, resumed run needs none)
        get_context("forkserver").set_forkserver_preload(self.preload)
        forkserver.ensure_running()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop(kill=exc[0] is not None)

    def _start(self, shared: Any) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers,
            mp_context=get_context("forkserver"),
            initializer=_init_pool_worker,
            initargs=(pickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL), self.initializer, os.getpid()),
        )

    def _stop(self, kill: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:  # Ctrl-C or an error: do not wait for running tasks
            for process in list(getattr(pool, "_processes", {}).values()):  # no public API in 3.11
                process.kill()
        pool.shutdown(wait=True, cancel_futures=True)

    def map(self, fn: Callable[..., T], shared: Any, jobs: Iterable[Job[K]]) -> Iterator[Outcome[K, T]]:
        jobs = list(jobs)
        queue = deque(range(len(jobs)))
        attempts = [0] * len(jobs)
        pending: dict[Future[Any], tuple[int, ProcessPoolExecutor]] = {}  # -> (job, its pool)
        try:
            while queue or pending:
                if self._pool is None:
                    self._pool = self._start(shared)
                while queue and len(pending) < self.workers:
                    i = queue[0]
                    blob = cloudpickle.dumps((fn, jobs[i][1]))
                    try:
                        pending[self._pool.submit(_pool_task, blob)] = (i, self._pool)
                    except BrokenProcessPool:  # a worker died since the last check: restart
                        self._stop()
                        break
                    queue.popleft()
                if not pending:
                    continue
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    i, pool = pending.pop(future)
                    try:
                        status, value, trace = future.result()
                    except BrokenProcessPool as err:
                        if pool is self._pool:
                            self._stop()  # a new pool starts with the next submission
                        attempts[i] += 1
                        if attempts[i] <= self.retries:
                            queue.appendleft(i)
                        else:
                            yield Outcome(
                                jobs[i][0],
                                error=f"{describe(err)} (the task's worker died; tried {attempts[i]} times)",
                                traceback=str(err),
                            )
                        continue
                    yield _outcome(jobs[i][0], status, value, trace)
        except BaseException:
            self._stop(kill=True)
            raise


# ----------------------------------------------------------------------------- Ray
class RaySession:
    """Ray for the duration of a ``with``: the running instance if there is one, else a new one.

    ``address`` None starts a private local instance with ``workers * cpus_per_task`` CPUs, no
    dashboard, and workers at the driver's priority (Ray's default nices them); an address
    connects to that cluster. An instance started here is shut down on exit; tasks still running
    are cancelled either way.
    """

    def __init__(self, workers: int, address: str | None = None, cpus_per_task: float = 1) -> None:
        self.workers = workers
        self.address = address
        self.cpus_per_task = cpus_per_task
        self.pending: dict[Any, Any] = {}  # ObjectRef -> key
        self._owned = False
        self.ray: Any = None

    def __enter__(self) -> Any:
        try:
            import ray  # deferred: Ray is heavy and only this engine needs it
        except ImportError as err:  # pragma: no cover - ray is a dependency
            raise LFDError("the ray engine needs the ray package (pip install ray)") from err
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
                    # starves the tasks (a serial run, at 0, would then beat N workers)
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

    def imap(self, remote: Any, jobs: Iterable[Job[K]]) -> Iterator[tuple[K, Any]]:
        """Run ``remote.remote(*args)`` per job, at most ``workers`` at a time; yield
        ``(key, ObjectRef)`` of each finished task, in the order they finish."""
        queue = deque(jobs)
        while queue or self.pending:
            while queue and len(self.pending) < self.workers:
                key, args = queue.popleft()
                self.pending[remote.remote(*args)] = key
            ready, _ = self.ray.wait(list(self.pending), num_returns=1)
            for ref in ready:
                yield self.pending.pop(ref), ref


def _ray_task(
    fn: Callable[..., T], shared: Any, args: tuple[Any, ...], initializer: Callable[[], None] | None
) -> tuple[str, Any, str | None]:
    if initializer is not None:
        initializer()
    return _call(fn, shared, args)


class RayExecutor:
    """Tasks as Ray tasks, ``workers`` at a time, each asking Ray for ``cpus_per_task`` CPUs.

    ``use_gpu``: give each task a share of the cluster's GPUs (``min(1, GPUs / workers)``) when
    it has any.
    """

    def __init__(
        self,
        workers: int,
        address: str | None = None,
        *,
        cpus_per_task: int = 1,
        use_gpu: bool = False,
        retries: int = RETRIES,
        initializer: Callable[[], None] | None = None,
    ) -> None:
        self.workers = workers
        self.cpus_per_task = cpus_per_task
        self.use_gpu = use_gpu
        self.retries = retries
        self.initializer = initializer
        self.session = RaySession(workers, address, cpus_per_task=cpus_per_task)
        self.ray: Any = None  # the module, once started

    def __enter__(self) -> RayExecutor:
        return self  # Ray starts with the first task (a resumed, finished run needs none)

    def __exit__(self, *exc: object) -> None:
        if self.ray is not None:
            self.session.__exit__(*exc)
            self.ray = None

    def map(self, fn: Callable[..., T], shared: Any, jobs: Iterable[Job[K]]) -> Iterator[Outcome[K, T]]:
        jobs = list(jobs)
        if not jobs:
            return
        if self.ray is None:
            self.ray = self.session.__enter__()
        ray = self.ray
        gpus = float(ray.cluster_resources().get("GPU", 0.0)) if self.use_gpu else 0.0
        remote = ray.remote(_ray_task).options(
            num_cpus=self.cpus_per_task,
            num_gpus=min(1.0, gpus / self.workers) if gpus else 0,
            max_retries=self.retries,
            retry_exceptions=False,
        )
        shared_ref = ray.put(shared)  # once; every task maps the same buffers
        fn_ref = ray.put(fn)
        ray_jobs = [(key, (fn_ref, shared_ref, args, self.initializer)) for key, args in jobs]
        for key, ref in self.session.imap(remote, ray_jobs):
            yield self._fetch(key, ref)

    def _fetch(self, key: Any, ref: Any) -> Outcome[Any, Any]:
        from ray.exceptions import RayError  # deferred with ray itself

        try:
            status, value, trace = self.ray.get(ref)
        except RayError as err:  # the worker died on every attempt, or the task was lost
            return Outcome(
                key,
                error=f"{describe(err)} (the task's worker died; tried {self.retries + 1} times)",
                traceback=str(err),
            )
        return _outcome(key, status, value, trace)


Executor = SerialExecutor | PoolExecutor | RayExecutor


def make_executor(
    workers: int = 1,
    *,
    engine: str = "process",
    address: str | None = None,
    cpus_per_task: int = 1,
    use_gpu: bool = False,
    retries: int = RETRIES,
    initializer: Callable[[], None] | None = None,
    preload: Sequence[str] = (),
) -> Executor:
    """The executor for ``workers`` and ``engine``: serial for one worker without an address;
    Ray for ``engine="ray"`` or an ``address`` (a cluster); else the local process pool.

    ``initializer`` runs in each pool worker once, in each Ray task, never in serial runs.
    """
    if workers < 1:
        raise LFDError(f"--workers must be >= 1, got {workers}")
    if engine not in ENGINES:
        raise LFDError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if address is not None:
        if workers == 1:
            raise LFDError("--ray-address needs --workers 2 or more (the tasks run at once on the cluster)")
        return RayExecutor(
            workers,
            address,
            cpus_per_task=cpus_per_task,
            use_gpu=use_gpu,
            retries=retries,
            initializer=initializer,
        )
    if workers == 1:
        return SerialExecutor()
    if engine == "ray":
        return RayExecutor(
            workers, cpus_per_task=cpus_per_task, use_gpu=use_gpu, retries=retries, initializer=initializer
        )
    return PoolExecutor(workers, retries=retries, initializer=initializer, preload=preload)


def cpu_note(workers: int, threads: int, address: str | None) -> str | None:
    """A warning when ``workers`` x ``threads`` oversubscribe this machine's cores (local runs)."""
    cores = os.cpu_count() or 1
    if workers > 1 and address is None and workers * threads > cores:
        return (
            f"note: {workers} workers x train.threads {threads} > {cores} cores: tasks will compete "
            "for the CPU (results are the same, only slower)"
        )
    return None
