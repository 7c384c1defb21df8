"""What the installed package ships works by name, as ``config show`` takes it: ``train --config
synthetic``, ``benchmark --config megc2019`` (every benchmark YAML is package data), and ``config
init`` does not say "run it" before its data exists."""

from __future__ import annotations

from pathlib import Path

from lfd_tcmen.cli import main
from lfd_tcmen.cli.common import config_file
from lfd_tcmen.config.benchmark import load_benchmark
from lfd_tcmen.config.shipped import shipped_file

REPO = Path(__file__).resolve().parents[2]
SHIPPED_BENCHMARKS = REPO / "src" / "lfd_tcmen" / "benchmark_configs"


def test_every_benchmark_yaml_is_shipped_and_is_the_repositorys_file():
    repo = sorted(p.name for p in (REPO / "benchmarks").glob("*.yaml"))
    assert sorted(p.name for p in SHIPPED_BENCHMARKS.glob("*.yaml")) == repo, (
        "link each benchmarks/*.yaml into src/lfd_tcmen/benchmark_configs/ (ln -s ../../../benchmarks/NAME.yaml)"
    )
    for name in repo:
        assert (SHIPPED_BENCHMARKS / name).read_text() == (REPO / "benchmarks" / name).read_text()


def test_a_bare_name_is_the_shipped_file_and_a_path_stays_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config_file(Path("synthetic")) == shipped_file("synthetic")
    assert config_file(Path("synthetic")).read_text() == (REPO / "configs" / "synthetic.yaml").read_text()
    bench = load_benchmark(config_file(Path("megc2019.yaml"), "benchmark_configs"))
    assert bench.names() == load_benchmark(REPO / "benchmarks" / "megc2019.yaml").names()
    (tmp_path / "synthetic").write_text("name: mine\n")  # a file of that name here wins
    assert config_file(Path("synthetic")) == Path("synthetic")
    assert config_file(Path("sub/synthetic")) == Path("sub/synthetic")  # a path is never a name
    assert config_file(Path("nope")) == Path("nope")  # the loader names it


def test_train_by_name_reads_the_shipped_config(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # (a checkout's own .demo/store would be found: the data is moved away)
    assert main(["train", "--config", "synthetic", "--set", "data.path=nowhere_store", "--out", "r"]) == 2
    err = capsys.readouterr().err
    assert "nowhere_store" in err and "data folder not found" in err and "synthetic" not in err


def test_config_init_says_how_to_make_missing_data_before_run_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["config", "init", "synthetic", "my.yaml", "--data", "nowhere_store"]) == 0
    err = capsys.readouterr().err
    assert "does not exist yet" in err and "lfd-tcmen config show synthetic" in err
    assert "note: run it with" not in err and "then run it with: lfd-tcmen train --config my.yaml" in err
    assert "lfd-tcmen data synth" in shipped_file("synthetic").read_text()  # the header says how
