"""The one executor: serial, a local process pool, or Ray (see ``parallel.core`` for the rule).

with make_executor(ExecutorOptions(workers=2)) as executor:
    for outcome in executor.map(fn, shared, jobs):      # jobs: [(key, args), ...]
        ...
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.parallel.core import (
    ENGINES,
    RETRIES,
    SERIAL,
    ExecutorOptions,
    Outcome,
    SerialExecutor,
    describe,
)
from lfd_tcmen.parallel.pool import PoolExecutor
from lfd_tcmen.parallel.ray_engine import RayExecutor, RaySession

Executor = SerialExecutor | PoolExecutor | RayExecutor  # what make_executor returns

__all__ = [
    "ENGINES",
    "RETRIES",
    "SERIAL",
    "Executor",
    "ExecutorOptions",
    "Outcome",
    "PoolExecutor",
    "RayExecutor",
    "RaySession",
    "SerialExecutor",
    "cpu_note",
    "describe",
    "make_executor",
]


def make_executor(
    options: ExecutorOptions = SERIAL,
    *,
    cpus_per_task: int = 1,
    use_gpu: bool = False,
    retries: int = RETRIES,
    initializer: Callable[[], None] | None = None,
    preload: Sequence[str] = (),
) -> Executor:
    """The executor ``options`` ask for: serial for one worker without a Ray address; Ray for
    ``engine="ray"`` or a ``ray_address`` (a cluster); else the local process pool.

    ``initializer`` runs in each pool worker once, in each Ray task, never in serial runs.
    """
    workers, engine, address = options.workers, options.engine, options.ray_address
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


def cpu_note(options: ExecutorOptions, threads: int) -> str | None:
    """A warning when ``workers`` x ``threads`` oversubscribe this machine's cores (local runs)."""
    cores = os.cpu_count() or 1
    workers = options.workers
    if workers > 1 and options.ray_address is None and workers * threads > cores:
        return (
            f"note: {workers} workers x train.threads {threads} > {cores} cores: tasks will compete "
            "for the CPU (results are the same, only slower)"
        )
    return None
