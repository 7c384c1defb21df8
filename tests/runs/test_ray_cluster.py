"""A real two-node Ray cluster on this machine, used as a user would: ``ray start --head`` on a free
port, a second ``ray start --address``, then ``lfd-tcmen train`` and ``lfd-tcmen benchmark`` with
``--ray-address``; their results must equal the serial runs'. The cluster is stopped afterwards
(its process groups, not every Ray on the machine)."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from toys import write_composite

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TINY = REPO / "benchmarks" / "synthetic_tiny.yaml"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _nodes_alive(address: str, env: dict[str, str]) -> int:
    code = (
        f"import logging, ray; ray.init(address={address!r}, logging_level=logging.ERROR); "
        "print(sum(n['Alive'] for n in ray.nodes()))"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    return int(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 and done.stdout.strip() else 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("ray")
    home = tmp_path_factory.mktemp("ray_home")
    # Ray's token authentication: every node and driver of the cluster needs the same token (a
    # real cluster too: RAY_AUTH_TOKEN, or the file ~/.ray/auth_token on every node)
    env = {
        **os.environ,
        "HOME": str(home),
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    address = f"127.0.0.1:{_free_port()}"
    common = ["--num-cpus=1", "--disable-usage-stats", "--block"]
    processes = []
    try:
        head = [
            str(BIN / "ray"),
            "start",
            "--head",
            f"--port={address.split(':')[1]}",
            "--include-dashboard=false",
        ]
        processes.append(_start(head + common, env, home / "head.log"))
        _wait_for(lambda: _nodes_alive(address, env) >= 1, "the head node", processes)
        processes.append(
            _start([str(BIN / "ray"), "start", f"--address={address}"] + common, env, home / "node.log")
        )
        _wait_for(lambda: _nodes_alive(address, env) >= 2, "the second node", processes)
        yield address, env
    finally:
        for process in reversed(processes):
            _stop(process)


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait_for(ready, what: str, processes: list[subprocess.Popen], timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ready():
            return
        if any(p.poll() is not None for p in processes):
            pytest.fail(f"Ray cluster: {what}: `ray start` exited (logs in {processes[0].args})")
        time.sleep(1)
    pytest.fail(f"Ray cluster: {what} did not come up in {timeout:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            time.sleep(1)  # the group's children exit after its leader
        except subprocess.TimeoutExpired:
            continue


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(BIN / "lfd-tcmen"), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _same_run(a: Path, b: Path) -> None:
    for name in ("predictions.csv", "predictions_leaky-best-epoch.csv"):
        if (a / name).is_file() or (b / name).is_file():
            assert (a / name).read_text() == (b / name).read_text(), (a, name)
    for fold in sorted((a / "folds").iterdir()):
        assert (fold / "arrays.npz").read_bytes() == (b / "folds" / fold.name / "arrays.npz").read_bytes()


def test_train_and_benchmark_on_a_two_node_cluster_equal_the_serial_runs(cluster, tmp_path):
    address, env = cluster
    composite = write_composite(tmp_path / "composite", ("sub01", "sub02", "sub03", "sub04"))
    tiny = yaml.safe_load(TINY.read_text())
    config = {
        "name": "cluster",
        "seed": tiny["seed"],
        "data": {**tiny["data"], "path": str(composite)},
        "model": {"name": "lfd_tcmen", "params": tiny["methods"][0]["params"]},
        "train": tiny["train"],
    }
    (tmp_path / "cluster.yaml").write_text(yaml.safe_dump(config))
    train = ["train", "--config", str(tmp_path / "cluster.yaml"), "--no-progress", "--out"]
    _cli(train + ["serial"], env, tmp_path)
    _cli(train + ["on_cluster", "--workers", "2", "--ray-address", address], env, tmp_path)
    _same_run(tmp_path / "serial", tmp_path / "on_cluster")

    bench = ["benchmark", "--config", str(TINY), "--data", str(composite), "--no-progress", "--out"]
    _cli(bench + ["b_serial"], env, tmp_path)
    _cli(bench + ["b_cluster", "--workers", "2", "--ray-address", address], env, tmp_path)
    runs = sorted(p.name for p in (tmp_path / "b_serial" / "runs").iterdir())
    assert len(runs) == 6  # 3 methods x 2 protocols
    for run in runs:
        _same_run(tmp_path / "b_serial" / "runs" / run, tmp_path / "b_cluster" / "runs" / run)
