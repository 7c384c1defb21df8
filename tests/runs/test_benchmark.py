"""The benchmark: every method on the same folds, both protocols from one training, resumable."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from lfd_tcmen.config.benchmark import benchmark_from_dict, load_benchmark
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.splits import loso_folds
from lfd_tcmen.evaluation.metrics import classification_report
from lfd_tcmen.evaluation.scoring import read_predictions_csv
from lfd_tcmen.models import model_default_train
from lfd_tcmen.parallel import ExecutorOptions
from lfd_tcmen.report.benchmark_table import adjust_within_families
from lfd_tcmen.report.predictions import predictions_name
from lfd_tcmen.runs import run_dir as rd
from lfd_tcmen.runs.benchmark import run_benchmark, run_dir
from lfd_tcmen.runs.ensemble import write_declared_ensemble
from lfd_tcmen.runs.experiment import run_experiment
from lfd_tcmen.runs.folds import interleaved
from toys import SMALL_MODEL, make_features

FOLDS = ["toy/s0", "toy/s2"]
PROTOCOLS = ("honest", "leaky-best-epoch")
RUN = ["lfd_tcmen", "ststnet", "off_apexnet_shared", "no_drl"]  # method, peers (paper / shared), ablation


def bench_dict(epochs: int = 2) -> dict:
    return {
        "name": "toy",
        "seed": 3,
        "data": {"source": "store", "path": "unused", "face_size": 16, "flow_size": 8},
        "train": {"epochs": epochs, "batch_size": 8, "lr": 0.003, "threads": 1, "probe_folds": 1},
        "methods": [
            {"name": "lfd_tcmen", "model": "lfd_tcmen", "params": SMALL_MODEL},
            {"name": "ststnet", "model": "ststnet", "use_model_defaults": True, "train": {"epochs": epochs}},
            {"name": "off_apexnet", "model": "off_apexnet", "skip": "not run here: a test"},
            {"name": "off_apexnet_shared", "model": "off_apexnet"},  # dropout: a peer with randomness
        ],
        "ablations": [{"name": "no_drl", "ablation_of": "lfd_tcmen", "params": {"use_drl": False}}],
    }


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("bench") / "toy"
    features = make_features()
    bench = benchmark_from_dict(bench_dict())
    result = run_benchmark(
        bench,
        features,
        out,
        methods=RUN + ["off_apexnet"],
        fold_names=FOLDS,
        progress=False,
    )
    return bench, features, out, result


def test_settings_resolve_shared_then_model_defaults_then_method():
    bench = benchmark_from_dict(bench_dict(epochs=3))
    ststnet = bench.experiment("ststnet", "honest")
    assert (ststnet.train.epochs, ststnet.train.lr, ststnet.train.batch_size) == (3, 5e-5, 256)
    assert ststnet.train.weight_decay == 0.0 and ststnet.train.threads == 1  # shared section kept
    ablation = bench.experiment("no_drl", "leaky-best-epoch")
    assert ablation.model.name == "lfd_tcmen"
    assert dict(ablation.model.params) == {**SMALL_MODEL, "use_drl": False}
    assert (ablation.train.protocol, ablation.train.lr, ablation.train.batch_size) == (
        "leaky-best-epoch",
        0.003,
        8,
    )
    assert ablation.seed == 3 and ablation.data == bench.experiment("lfd_tcmen", "honest").data
    assert bench.method("no_drl").kind == "ablation" and bench.method("lfd_tcmen").kind == "method"


def test_model_default_train_is_the_class_attribute():
    assert model_default_train("ststnet") == {"epochs": 800, "lr": 5e-5, "batch_size": 256}
    assert model_default_train("off_apexnet") == {"epochs": 3000, "lr": 1e-4, "batch_size": 256}
    assert model_default_train("lfd_tcmen") == {"epochs": 30, "lr": 1e-3, "batch_size": 32}  # ours
    with pytest.raises(LFDError, match="unknown model"):
        model_default_train("nope")
    config = benchmark_from_dict(bench_dict()).experiment("lfd_tcmen", "honest").override(model="off_apexnet")
    paper = config.with_train(**model_default_train("off_apexnet"))  # ``train --model-defaults``
    assert (paper.train.epochs, paper.train.lr, paper.train.batch_size) == (3000, 1e-4, 256)
    assert paper.train.threads == config.train.threads and paper.seed == config.seed


def test_bad_benchmark_files_name_the_file(tmp_path: Path):
    path = tmp_path / "b.yaml"
    raw = bench_dict()
    raw["methods"][0]["paramz"] = {}
    path.write_text(json.dumps(raw))
    with pytest.raises(LFDError, match=r"paramz") as err:
        load_benchmark(path)
    assert err.value.path == str(path)
    raw = bench_dict()
    raw["ablations"][0]["ablation_of"] = "missing"
    with pytest.raises(LFDError, match="ablation_of 'missing'"):
        benchmark_from_dict(raw)
    raw = bench_dict()
    raw["train"]["epochz"] = 3
    with pytest.raises(LFDError, match="train.epochz"):
        benchmark_from_dict(raw)
    with pytest.raises(LFDError, match="unknown method 'nope'"):
        benchmark_from_dict(bench_dict()).method("nope")
    raw = bench_dict()
    raw["variants"] = [{"name": "flow", "ablation_of": "lfd_tcmen"}]
    with pytest.raises(LFDError, match="variants.flow: ablation_of belongs in ablations"):
        benchmark_from_dict(raw)


def test_a_variant_inherits_its_method_and_changes_what_it_names():
    raw = bench_dict()
    raw["variants"] = [
        {"name": "flow", "variant_of": "lfd_tcmen", "params": {"motion_from": "flow"}, "train": {"lr": 0.01}}
    ]
    bench = benchmark_from_dict(raw)
    flow = bench.method("flow")
    assert (flow.kind, flow.variant_of, flow.ablation_of) == ("variant", "lfd_tcmen", None)
    config = bench.experiment("flow", "honest")
    assert dict(config.model.params) == {**SMALL_MODEL, "motion_from": "flow"}
    assert (config.train.lr, config.train.batch_size) == (0.01, 8)
    assert bench.names()[-1] == "flow"  # table order: methods, ablations, variants


def test_holm_adjusts_within_each_family_never_across():
    def row(method: str, kind: str, p: float, protocol: str = "honest") -> dict:
        return {
            "method": method,
            "kind": kind,
            "protocol": protocol,
            "vs_reference": {m: {"p": p} for m in ("uf1", "uar")},
        }

    rows = [
        row("peer", "method", 0.01),
        row("a1", "ablation", 0.01),
        row("a2", "ablation", 0.04),
        row("v1", "variant", 0.02),
        row("a3", "ablation", 0.01, protocol="leaky-best-epoch"),
    ]
    adjust_within_families(rows)
    p_holm = {r["method"]: r["vs_reference"]["uf1"].get("p_holm") for r in rows}
    assert p_holm == {
        "peer": None,
        "a1": pytest.approx(0.02),
        "a2": pytest.approx(0.04),
        "v1": 0.02,
        "a3": 0.01,
    }


def test_table_has_every_row_with_the_leaky_ones_labelled(bench_run):
    _, _, out, result = bench_run
    table = (out / "table.md").read_text()
    lines = [line for line in table.splitlines() if line.startswith("| ")][1:]  # no header
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    assert [(r[0], r[2]) for r in rows] == [
        ("lfd_tcmen", "honest"),
        ("lfd_tcmen", "leaky-best-epoch (LEAKY)"),
        ("ststnet", "honest"),
        ("ststnet", "leaky-best-epoch (LEAKY)"),
        ("off_apexnet", "-"),
        ("off_apexnet_shared", "honest"),
        ("off_apexnet_shared", "leaky-best-epoch (LEAKY)"),
        ("no_drl", "honest"),
        ("no_drl", "leaky-best-epoch (LEAKY)"),
    ]
    assert rows[4][-1] == "not run" and "Not run: off_apexnet: not run here: a test" in table
    assert "optimistic" in table and "ONE training per fold" in table
    measured = [r for r in result.rows if "uf1" in r]
    assert len(measured) == 8 and all(r["folds"] == "2/4" and r["n"] == 12 for r in measured)
    assert (out / "bars.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "results.json").read_text())["folds"] == FOLDS


def test_the_benchmark_page_gives_each_rows_f1_per_class(bench_run):
    _, features, out, _ = bench_run
    page = (out / "report.html").read_text()
    section = page[page.index("F1 per class") :]
    rows = read_predictions_csv(run_dir(out, "lfd_tcmen", "honest") / "predictions.csv").rows
    labels, preds = [r["label"] for r in rows], [r["pred"] for r in rows]
    report = classification_report(labels, preds, len(features.class_names), features.class_names)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", section)
    first = cells[cells.index("lfd_tcmen") : cells.index("lfd_tcmen") + 2 + len(report)]
    assert first[1] == "honest" and [float(c) for c in first[2:]] == pytest.approx(
        [round(r["f1"], 4) for r in report], abs=1e-4
    )
    assert "leaky-best-epoch (LEAKY)" in section and "off_apexnet</td>" not in section  # not run: no row


def test_every_run_sees_the_same_folds_and_test_samples(bench_run):
    _, features, out, _ = bench_run
    seen = {}
    for method in ("lfd_tcmen", "ststnet"):
        for protocol in PROTOCOLS:
            d = run_dir(out, method, protocol)
            assert rd.finished_folds(d) == ["toy__s0", "toy__s2"]
            seen[d.name] = [
                json.loads((rd.fold_dir(d, f) / rd.HISTORY).read_text())["test_samples"] for f in FOLDS
            ]
            assert (d / predictions_name(protocol)).is_file()
    first = next(iter(seen.values()))
    assert all(v == first for v in seen.values())
    assert first[0] == [s for s, subj in zip(features.sample_ids, features.subjects) if subj == "toy/s0"]


def test_every_row_equals_its_stand_alone_run(bench_run, tmp_path: Path):
    """A benchmark row is exactly ``lfd-tcmen train`` with that method's config: LFD-TCMEN, a
    peer with its paper's settings, a peer with dropout and an ablation, both protocols (one
    training serves both: evaluating the test subject after each epoch changes nothing)."""
    bench, features, out, _ = bench_run
    for method in RUN:
        for protocol in PROTOCOLS:
            config = bench.experiment(method, protocol)
            alone = run_experiment(
                config, features, tmp_path / method / protocol, fold_names=FOLDS, progress=False
            )
            shared = run_dir(out, method, protocol)
            for fold in FOLDS:
                a = rd.read_fold(alone.out_dir, fold)
                b = rd.read_fold(shared, fold)
                np.testing.assert_array_equal(a.probs, b.probs)
                assert a.info["epoch"] == b.info["epoch"] and a.info["history"] == b.info["history"]
            metrics = json.loads((shared / "metrics.json").read_text())
            assert metrics["overall"] == alone.metrics["overall"], (method, protocol)
            assert (shared / "config.yaml").read_text() == (alone.out_dir / "config.yaml").read_text()


def test_the_leaky_row_keeps_the_best_test_epoch_and_honest_the_last(bench_run):
    bench, features, out, _ = bench_run
    honest = rd.read_fold(run_dir(out, "lfd_tcmen", "honest"), FOLDS[0])
    assert honest.info["epoch"] == bench.experiment("lfd_tcmen", "honest").train.epochs
    assert all("test_accuracy" not in row for row in honest.info["history"])
    leaky = rd.read_fold(run_dir(out, "lfd_tcmen", "leaky-best-epoch"), FOLDS[0])
    accuracies = [row["test_accuracy"] for row in leaky.info["history"]]
    best = max(accuracies)
    assert leaky.info["epoch"] == max(i + 1 for i, a in enumerate(accuracies) if a == best)
    labels = features.labels[leaky.test_index]
    assert np.isclose((leaky.preds == labels).mean(), best)


def test_resume_skips_finished_runs_and_refuses_without_it(bench_run):
    bench, features, out, _ = bench_run
    before = (run_dir(out, "ststnet", "honest") / "folds" / "toy__s0" / rd.ARRAYS).stat().st_mtime_ns
    metrics_before = (run_dir(out, "ststnet", "honest") / "metrics.json").stat().st_mtime_ns
    again = run_benchmark(bench, features, out, methods=RUN, fold_names=FOLDS, resume=True, progress=False)
    assert again.trained == {m: [] for m in RUN}
    after = (run_dir(out, "ststnet", "honest") / "folds" / "toy__s0" / rd.ARRAYS).stat().st_mtime_ns
    assert before == after
    assert (
        run_dir(out, "ststnet", "honest") / "metrics.json"
    ).stat().st_mtime_ns == metrics_before  # up to date
    assert (out / "table.md").is_file()
    with pytest.raises(LFDError, match="--resume"):
        run_benchmark(bench, features, out, methods=["ststnet"], fold_names=FOLDS, progress=False)


def test_one_protocol_alone(tmp_path: Path):
    bench = benchmark_from_dict(bench_dict(epochs=1))
    result = run_benchmark(
        bench,
        make_features(),
        tmp_path,
        methods=["no_drl"],
        fold_names=FOLDS[:1],
        protocols=["leaky-best-epoch"],
        progress=False,
    )
    assert [(r["method"], r["protocol"], r["folds"]) for r in result.rows] == [
        ("no_drl", "leaky-best-epoch", "1/4")
    ]
    assert not run_dir(tmp_path, "no_drl", "honest").exists()


def test_training_order_takes_the_datasets_in_turn():
    folds = loso_folds(["casme2/a", "casme2/b", "casme2/c", "samm/x", "smic/p", "smic/q"])
    assert [f.name for f in interleaved(folds)] == [
        "casme2/a",
        "samm/x",
        "smic/p",
        "casme2/b",
        "smic/q",
        "casme2/c",
    ]
    kfold = loso_folds(["s1", "s2"])
    assert interleaved(kfold) == kfold


@pytest.mark.parametrize("engine", ["process", "ray"])
def test_two_workers_give_exactly_the_serial_benchmark(bench_run, tmp_path: Path, engine):
    if engine == "ray":
        pytest.importorskip("ray")
    bench, features, out, _ = bench_run
    result = run_benchmark(
        bench,
        features,
        tmp_path,
        methods=RUN,
        fold_names=FOLDS,
        executor=ExecutorOptions(2, engine),
        progress=False,
    )
    assert result.failed == []
    assert {m: sorted(v) for m, v in result.trained.items()} == {m: FOLDS for m in RUN}
    for method in RUN:
        for protocol in PROTOCOLS:
            for fold in FOLDS:
                ours = rd.read_fold(run_dir(tmp_path, method, protocol), fold)
                serial = rd.read_fold(run_dir(out, method, protocol), fold)
                np.testing.assert_array_equal(ours.probs, serial.probs)
                assert ours.info["epoch"] == serial.info["epoch"]


def test_a_ray_address_needs_two_workers(bench_run, tmp_path: Path):
    bench, features, _, _ = bench_run
    with pytest.raises(LFDError, match="--workers 2"):
        run_benchmark(
            bench,
            features,
            tmp_path,
            methods=["ststnet"],
            fold_names=FOLDS[:1],
            executor=ExecutorOptions(ray_address="auto"),
            progress=False,
        )


def test_seeds_give_mean_and_sd_rows_ensembles_and_differences_from_the_reference(tmp_path: Path):
    raw = bench_dict(epochs=1)
    raw["seeds"] = [3, 4]
    del raw["seed"]
    raw["reference"] = "lfd_tcmen"
    raw["ensembles"] = [{"name": "both", "members": ["lfd_tcmen", "no_drl"]}]
    bench = benchmark_from_dict(raw)
    features = make_features()
    result = run_benchmark(
        bench,
        features,
        tmp_path,
        methods=["lfd_tcmen", "no_drl"],
        fold_names=FOLDS,
        protocols=["honest"],
        progress=False,
        resamples=500,
        executor=ExecutorOptions(workers=2),
    )
    assert sorted(result.trained) == [
        "lfd_tcmen seed 3",
        "lfd_tcmen seed 4",
        "no_drl seed 3",
        "no_drl seed 4",
    ]
    rows = {(r["method"], r.get("variant")): r for r in result.rows}
    seed3 = run_dir(tmp_path, "lfd_tcmen", "honest") / "seed3"
    alone = run_experiment(
        bench.experiment("lfd_tcmen", "honest", seed=3),
        features,
        tmp_path / "alone",
        fold_names=FOLDS,
        progress=False,
    )
    assert json.loads((seed3 / "metrics.json").read_text())["overall"] == alone.metrics["overall"]
    mean = rows[("lfd_tcmen", None)]
    assert mean["seeds"] == 2 and mean["uf1_std"] >= 0 and set(mean["per_seed"]) == {"3", "4"}
    assert rows[("lfd_tcmen", "seed ensemble")]["n"] == 12
    delta = rows[("no_drl", None)]["vs_reference"]["uf1"]
    assert delta["ci_low"] <= delta["delta"] <= delta["ci_high"] and "p_holm" in delta
    assert "vs_reference" not in rows[("lfd_tcmen", None)]
    table = (tmp_path / "table.md").read_text()
    assert "lfd_tcmen (seed ensemble)" in table and " ± " in table and "ΔUF1 vs lfd_tcmen" in table
    assert json.loads((tmp_path / "results.json").read_text())["seeds"] == [3, 4]
    # the declared ensemble: the two rows' seed-averaged probabilities, compared like a row
    both = rows[("both", None)]
    folders = [run_dir(tmp_path, m, "honest") for m in ("lfd_tcmen", "no_drl")]
    again = write_declared_ensemble(folders, tmp_path / "again")
    assert both["kind"] == "ensemble" and both["uf1"] == again["overall"]["uf1"] and both["seeds"] == 4
    assert (run_dir(tmp_path, "both", "honest") / "predictions.csv").is_file()
    assert "p_holm" in both["vs_reference"]["uf1"]
    assert "| both " in table and "both: declared ensemble of lfd_tcmen, no_drl" in table


def test_declared_ensembles_are_checked_when_read():
    raw = bench_dict()
    for ensembles, message in [
        ([{"name": "e", "members": ["lfd_tcmen"]}], "two or more"),
        ([{"name": "e", "members": ["lfd_tcmen", "nope"]}], "not a method"),
        ([{"name": "e", "members": ["lfd_tcmen", "off_apexnet"]}], "not run"),
        ([{"name": "no_drl", "members": ["lfd_tcmen", "ststnet"]}], "taken"),
        ([{"name": "e", "members": ["lfd_tcmen", "ststnet"], "weights": [1, 2]}], "unknown key"),
    ]:
        with pytest.raises(LFDError, match=message):
            benchmark_from_dict({**raw, "ensembles": ensembles})


def test_based_on_takes_the_other_files_keys_and_prepare_is_checked(tmp_path: Path):
    base = tmp_path / "base.yaml"
    base.write_text(json.dumps({**bench_dict(), "data": {**bench_dict()["data"], "source": "composite"}}))
    base_raw = json.loads(base.read_text())
    base_raw["ablations"].append(
        {"name": "no_tc", "ablation_of": "lfd_tcmen", "params": {"use_temporal_complement": False},
         "skip_on_composite": "one flow segment"}
    )  # fmt: skip
    base.write_text(json.dumps(base_raw))
    child = tmp_path / "child.yaml"
    child.write_text(
        "based_on: base.yaml\nname: child\n"
        "data: {source: store, path: features/x, face_size: 16, flow_size: 8}\n"
        "prepare: {dataset: casme3, protocol: casme3-3class, preprocess: {face_size: 96}}\n"
    )
    bench = load_benchmark(child)
    assert bench.name == "child" and bench.names() == load_benchmark(base).names()  # methods inherited
    assert (bench.prepare.dataset, bench.prepare.protocol, bench.prepare.preprocess.face_size) == (
        "casme3",
        "casme3-3class",
        96,
    )
    assert (
        load_benchmark(base).method("no_tc").skip == "one flow segment" and bench.method("no_tc").skip is None
    )
    for text, message in [
        ("based_on: child.yaml\n", "leads back"),
        ("based_on: nope.yaml\n", "no such file"),
        (
            "based_on: base.yaml\nprepare: {dataset: nope, protocol: casme3-3class}\n",
            "prepare.dataset: unknown",
        ),
        ("based_on: base.yaml\nprepare: {dataset: casme3, protocol: x}\n", "prepare.protocol: unknown"),
        ("based_on: base.yaml\nprepare: {dataset: casme3}\n", "a dataset and a protocol"),
    ]:
        child.write_text(text)
        with pytest.raises(LFDError, match=message):
            load_benchmark(child)


def test_published_figures_are_read_checked_and_kept_by_their_own_file(tmp_path: Path):
    base = tmp_path / "base.yaml"
    figures = [{"name": "STSTNet", "uf1": 0.7353, "uar": 0.7605, "protocol": "honest", "note": "last epoch"}]
    base.write_text(json.dumps({**bench_dict(), "published": figures}))
    assert [(p.name, p.uf1, p.protocol) for p in load_benchmark(base).published] == [
        ("STSTNet", 0.7353, "honest")
    ]
    child = tmp_path / "child.yaml"
    child.write_text("based_on: base.yaml\nname: child\n")
    assert load_benchmark(child).published == ()  # another dataset's figures are not inherited
    for entry, message in [
        ({"name": "x"}, "needs name and uf1"),
        ({"name": "x", "uf1": 73.5}, "a number in \\[0, 1\\]"),
        ({"name": "x", "uf1": 0.7, "protocol": "best"}, "protocol 'best'"),
        ({"name": "x", "uf1": 0.7, "year": 2019}, "unknown key"),
    ]:
        base.write_text(json.dumps({**bench_dict(), "published": [entry]}))
        with pytest.raises(LFDError, match=message):
            load_benchmark(base)
