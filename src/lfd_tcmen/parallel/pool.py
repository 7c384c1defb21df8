"""The local process pool: workers forked from a forkserver that imported the package once."""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import forkserver, get_context
from typing import Any

import cloudpickle

from lfd_tcmen.parallel.core import RETRIES, Job, K, Outcome, T, describe, run_task, to_outcome

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
    return run_task(fn, _SHARED, args)


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
                    yield to_outcome(jobs[i][0], status, value, trace)
        except BaseException:
            self._stop(kill=True)
            raise
