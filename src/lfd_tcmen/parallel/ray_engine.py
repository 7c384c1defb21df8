"""Ray: a private local instance (``engine="ray"``) or a cluster (an address)."""

from __future__ import annotations

import logging
import socket
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lfd_tcmen.core.errors import LFDError, missing_package
from lfd_tcmen.parallel.core import RETRIES, Job, K, Outcome, T, describe, run_task, to_outcome

RAY_PORT = 6379  # Ray's default GCS port, for an address given without one
REACH_TIMEOUT_S = 10.0


def check_reachable(address: str, timeout: float = REACH_TIMEOUT_S) -> None:
    """Refuse a Ray cluster address where nothing listens, within ``timeout`` seconds: given one,
    ``ray.init`` retries forever, printing raw log lines. ``auto`` and ``local`` are Ray's to
    resolve; ``HOST:PORT`` and ``ray://HOST:PORT`` are tried with a TCP connection."""
    if address in ("auto", "local"):
        return
    host, sep, port = address.split("://", 1)[-1].rpartition(":")
    if not sep:
        host, port = port, str(RAY_PORT)
    if not port.isdigit() or not host:
        raise LFDError(
            f"--ray-address {address!r}: expected HOST:PORT (e.g. 10.0.0.5:6379) or ray://HOST:PORT"
        )
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as err:
        why = "no answer" if isinstance(err, TimeoutError) else err.strerror or str(err)
        raise LFDError(
            f"cannot reach a Ray cluster at {address} ({why}): start one there (ray start --head) or "
            "fix --ray-address"
        ) from None


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
            import ray  # deferred: Ray is optional (an extra) and only this engine needs it
        except ImportError:
            raise missing_package(
                "the ray engine (--engine ray, --ray-address)", "ray", '"lfd-tcmen[ray]"'
            ) from None
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
                check_reachable(self.address)
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
    return run_task(fn, shared, args)


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
        return to_outcome(key, status, value, trace)
