"""The one executor: the same error rule serial and on the process pool, closures as tasks,
and pool workers that do not outlive a killed driver."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.parallel import ExecutorOptions, make_executor


@pytest.mark.parametrize("workers", [1, 2])
def test_the_error_rule_is_the_same_serial_and_on_the_pool(workers):
    offset = 7

    def _task(shared: int, i: int) -> int:  # a closure: sent by value, as test hooks are
        if i == 2:
            raise RuntimeError(f"task {i} broke")
        if i == 9:
            raise LFDError("bad input", path="x.csv", row=i)
        return shared * 10 + i

    with make_executor(ExecutorOptions(workers), preload=("lfd_tcmen.parallel",)) as executor:
        outcomes = {
            o.key: o
            for o in executor.map(
                lambda shared, i: _task(shared, i) + offset, 1, [(i, (i,)) for i in range(4)]
            )
        }
        assert {k: o.value for k, o in outcomes.items() if o.ok} == {0: 17, 1: 18, 3: 20}  # a closure ran
        assert outcomes[2].error == "RuntimeError: task 2 broke" and "_task" in outcomes[2].traceback
        with pytest.raises(LFDError, match=r"x.csv, row 9: bad input"):
            list(executor.map(_task, 1, [(i, (i,)) for i in (0, 9)]))


def test_pool_workers_exit_when_the_driver_is_killed(tmp_path):
    driver = textwrap.dedent(
        f"""
        import os, time
        from lfd_tcmen.parallel import ExecutorOptions, make_executor

        def work(shared, i):
            open(os.path.join({str(tmp_path)!r}, f"worker{{os.getpid()}}"), "w").close()
            time.sleep(120)

        if __name__ == "__main__":
            with make_executor(ExecutorOptions(2), preload=("lfd_tcmen.parallel",)) as executor:
                list(executor.map(work, None, [(i, (i,)) for i in range(2)]))
        """
    )
    (tmp_path / "driver.py").write_text(driver)
    process = subprocess.Popen([sys.executable, str(tmp_path / "driver.py")], cwd=tmp_path)
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("worker*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = [int(p.name[6:]) for p in tmp_path.glob("worker*")]
    assert len(workers) == 2, "the pool did not start"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    # Poll with a deadline (a busy machine may take a while to run the watchdog); a zombie has
    # exited and only waits for its parent to reap it.
    deadline = time.monotonic() + 60
    while (alive := [pid for pid in workers if _running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive, f"workers {alive} outlived their killed driver by 60 s"


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (Linux: its /proc state)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("address", [None, "127.0.0.1:1"])
def test_without_ray_the_ray_engine_is_one_line_with_the_install_hint(address, monkeypatch):
    """Ray is an extra: where it is not installed (an import of it fails), asking for it says how
    to install it, before any task runs; the process pool does not need it."""
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with make_executor(ExecutorOptions(2, "ray", address)) as executor:
        with pytest.raises(LFDError) as caught:
            list(executor.map(lambda shared, i: i, None, [(0, (0,))]))
    assert str(caught.value) == (
        "the ray engine (--engine ray, --ray-address) needs the ray package, which is not installed: "
        'pip install "lfd-tcmen[ray]"'
    )
    with make_executor(ExecutorOptions(2), preload=("lfd_tcmen.parallel",)) as executor:
        assert [o.value for o in executor.map(lambda shared, i: i + 1, None, [(0, (0,))])] == [1]
