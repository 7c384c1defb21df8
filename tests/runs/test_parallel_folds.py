"""Folds in parallel, on both engines (the local process pool and Ray): the same numbers as one
after another, the one error rule, faults survived, Ctrl-C and resume.

One local Ray (2 CPUs) is shared by the module's Ray tests. The fault hooks are ``on_batch``
closures: both engines pickle them by value (cloudpickle) into the workers. The toy config
trains each fold on one batch per epoch (batch_size 32 > 12 training samples), so a hook knows
its fold by which subject is missing from the batch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from lfd_tcmen.cli import main
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.locks import LOCK_NAME
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.data.splits import loso_folds
from lfd_tcmen.models.device import Precision, resolve_device
from lfd_tcmen.parallel import ExecutorOptions, PoolExecutor, RayExecutor, SerialExecutor, make_executor
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.manifest import MANIFEST
from lfd_tcmen.preprocess.store import prepare_dataset
from lfd_tcmen.runs import run_dir
from lfd_tcmen.runs.experiment import run_experiment
from lfd_tcmen.synth.render import render_dataset
from lfd_tcmen.training.fold import train_fold
from toys import make_config, make_features

SUBJECTS, PER_SUBJECT, EPOCHS = 3, 6, 2
FOLDS = ["toy/s0", "toy/s1", "toy/s2"]


def _comparable(metrics: dict) -> dict:
    """Everything but timings."""
    out = {k: v for k, v in metrics.items() if k != "train_wall_s"}
    out["per_fold"] = [{k: v for k, v in row.items() if k != "wall_s"} for row in metrics["per_fold"]]
    return out


def _fold_arrays(run: Path, fold: str) -> dict[str, np.ndarray]:
    with np.load(run / "folds" / fold.replace("/", "__") / "arrays.npz") as z:
        return {k: z[k] for k in z.files}


def _missing_subject_hook(subject: int, per_subject: int = PER_SUBJECT):
    """True when a batch lacks every sample of ``subject``: the batch belongs to its fold."""

    def of_fold(idx: np.ndarray) -> bool:
        return not np.any((idx >= subject * per_subject) & (idx < (subject + 1) * per_subject))

    return of_fold


@pytest.fixture(scope="module")
def toy():
    return make_features(subjects=SUBJECTS, per_subject=PER_SUBJECT), make_config(
        epochs=EPOCHS, batch_size=32
    )


@pytest.fixture(scope="module")
def serial_run(toy, tmp_path_factory):
    features, config = toy
    out = tmp_path_factory.mktemp("serial")
    return run_experiment(config, features, out, progress=False)


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")
    import logging

    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.ERROR)
    yield ray
    ray.shutdown()


@pytest.fixture(params=["process", "ray"])
def engine(request) -> str:
    """Each parallel test runs on the local process pool and on (a shared local) Ray."""
    if request.param == "ray":
        request.getfixturevalue("ray_session")
    return request.param


# ----------------------------------------------------------------------------- without Ray
def test_one_worker_is_serial_and_never_imports_ray(tmp_path):
    assert isinstance(make_executor(ExecutorOptions(1)), SerialExecutor)
    assert isinstance(make_executor(ExecutorOptions(2)), PoolExecutor)  # built, not started
    assert isinstance(make_executor(ExecutorOptions(2, engine="ray")), RayExecutor)
    with pytest.raises(LFDError, match="engine"):
        make_executor(ExecutorOptions(2, engine="threads"))
    with pytest.raises(LFDError, match="workers"):
        make_executor(ExecutorOptions(0))
    with pytest.raises(LFDError, match="--workers 2"):
        make_executor(ExecutorOptions(1, ray_address="127.0.0.1:6379"))
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parents[1])!r})
        from toys import make_config, make_features
        from lfd_tcmen.runs.experiment import run_experiment
        s = run_experiment(make_config(epochs=1), make_features(subjects=2, per_subject=3),
                           {str(tmp_path / "run")!r}, progress=False)
        assert s.folds_trained == ["toy/s0", "toy/s1"], s.folds_trained
        assert "ray" not in sys.modules, "one worker imported ray"
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_serial_failing_fold_is_reported_while_the_others_finish_then_resume(toy, serial_run, tmp_path):
    features, config = toy
    in_fold_s0 = _missing_subject_hook(0)

    def fail_in_s0(idx: np.ndarray) -> None:
        if in_fold_s0(idx):
            raise RuntimeError("boom in fold s0")

    run = run_experiment(config, features, tmp_path, progress=False, on_batch=fail_in_s0)
    assert run.folds_trained == ["toy/s1", "toy/s2"]
    assert [f["fold"] for f in run.failed] == ["toy/s0"]
    assert (
        run.failed[0]["error"] == "RuntimeError: boom in fold s0"
        and "fail_in_s0" in run.failed[0]["traceback"]
    )
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["failed_folds"] == [{"fold": "toy/s0", "error": "RuntimeError: boom in fold s0"}]
    assert metrics["folds_done"] == 2 and [r["fold"] for r in metrics["per_fold"]] == ["toy/s1", "toy/s2"]
    for fold in ("toy/s1", "toy/s2"):  # the other folds are exactly the serial run's
        np.testing.assert_array_equal(
            _fold_arrays(tmp_path, fold)["probs"], _fold_arrays(serial_run.out_dir, fold)["probs"]
        )
    resumed = run_experiment(config, features, tmp_path, resume=True, progress=False)
    assert resumed.folds_trained == ["toy/s0"] and resumed.failed == []
    assert resumed.metrics["failed_folds"] == []
    assert _comparable(resumed.metrics) == _comparable(serial_run.metrics)


def test_every_fold_failing_still_writes_metrics(toy, tmp_path):
    features, config = toy

    def always(idx: np.ndarray) -> None:
        raise ValueError("bad batch")

    run = run_experiment(config, features, tmp_path, progress=False, on_batch=always)
    assert run.folds_trained == [] and [f["fold"] for f in run.failed] == FOLDS
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["folds_done"] == 0 and len(metrics["failed_folds"]) == 3


def test_a_user_error_in_a_fold_stops_the_run(toy, tmp_path):
    features, config = toy

    def bad_input(idx: np.ndarray) -> None:
        raise LFDError("bad input", path="x.csv", row=3)

    with pytest.raises(LFDError, match="x.csv, row 3: bad input"):
        run_experiment(config, features, tmp_path, progress=False, on_batch=bad_input)


def test_cli_exits_non_zero_naming_the_failed_fold(toy, tmp_path, monkeypatch, capsys):
    features, config = toy
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(config.to_dict()))
    monkeypatch.setattr("lfd_tcmen.cli.common.load_features", lambda data, p: features)
    real = train_fold

    def failing_train_fold(features, fold, *args, **kwargs):
        if fold.name == "toy/s1":
            raise RuntimeError("diverged")
        return real(features, fold, *args, **kwargs)

    monkeypatch.setattr("lfd_tcmen.runs.experiment.train_fold", failing_train_fold)
    code = main(["train", "--config", str(path), "--out", str(tmp_path / "run"), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1
    assert "fold toy/s1 failed: RuntimeError: diverged" in captured.err
    assert "folds: 2/3" in captured.out
    assert main(["train", "--config", str(path), "--workers", "0"]) == 2
    assert main(["train", "--config", str(path), "--ray-address", "auto"]) == 2  # needs --workers >= 2


def test_device_and_precision_on_cpu(make_config):
    precision = Precision.for_config(make_config(device="cpu").train)
    assert precision.device.type == "cpu" and precision.dtype is None and precision.scaler() is None
    if not torch.cuda.is_available():
        assert resolve_device("auto").type == "cpu"
        with pytest.raises(LFDError, match="no CUDA device"):
            resolve_device("cuda")
        assert Precision.for_config(make_config(device="auto", amp=True).train).dtype is None
    with pytest.raises(LFDError, match="train.device"):
        make_config(device="tpu")


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_mixed_precision_path_runs(features, make_config, monkeypatch, dtype):
    """The CUDA autocast path (bf16; fp16 with a GradScaler), exercised with CPU autocast."""
    monkeypatch.setattr(
        Precision, "for_config", classmethod(lambda cls, train: cls(torch.device("cpu"), dtype))
    )
    fold = loso_folds(features.subjects)[0]
    result = train_fold(
        features, fold, make_config(epochs=2, protocol="leaky-best-epoch"), seed=3, progress=False
    )["leaky-best-epoch"]
    assert result.probs.dtype == np.float32 and result.probs.shape == (len(fold.test), features.num_classes)
    np.testing.assert_allclose(result.probs.sum(axis=1), 1.0, atol=1e-3)
    assert result.codes["test_motion"].dtype == np.float32
    assert {v.dtype for v in result.state_dict.values() if v.is_floating_point()} == {torch.float32}
    assert all(np.isfinite(row["train_loss"]) for row in result.history)


def test_channels_last_is_deterministic_and_close(features, make_config):
    fold = loso_folds(features.subjects)[0]
    plain = train_fold(features, fold, make_config(epochs=2), seed=4, progress=False)["honest"]
    a = train_fold(features, fold, make_config(epochs=2, channels_last=True), seed=4, progress=False)[
        "honest"
    ]
    b = train_fold(features, fold, make_config(epochs=2, channels_last=True), seed=4, progress=False)[
        "honest"
    ]
    assert np.array_equal(a.probs, b.probs)
    np.testing.assert_allclose(a.probs, plain.probs, atol=1e-3)
    assert all(v.is_contiguous() for v in a.state_dict.values())  # checkpoints in the plain layout


def test_resume_accepts_a_config_saved_before_new_train_keys(toy, tmp_path):
    features, config = toy
    run_experiment(config, features, tmp_path, fold_names=["toy/s0"], progress=False)
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())
    for key in ("device", "amp", "channels_last"):
        del saved["train"][key]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(saved))
    run = run_experiment(config, features, tmp_path, fold_names=["toy/s1"], resume=True, progress=False)
    assert run.folds_trained == ["toy/s1"]


# ----------------------------------------------------------------------------- in parallel, both engines
def test_two_workers_give_exactly_the_serial_run(toy, serial_run, engine, tmp_path):
    features, config = toy
    run = run_experiment(config, features, tmp_path, progress=False, executor=ExecutorOptions(2, engine))
    assert run.folds_trained == FOLDS and run.failed == []
    assert _comparable(run.metrics) == _comparable(serial_run.metrics)
    assert (tmp_path / "predictions.csv").read_text() == (serial_run.out_dir / "predictions.csv").read_text()
    for fold in FOLDS:
        ours, theirs = _fold_arrays(tmp_path, fold), _fold_arrays(serial_run.out_dir, fold)
        assert ours.keys() == theirs.keys()
        assert all(np.array_equal(ours[k], theirs[k]) for k in ours)
        d = fold.replace("/", "__")
        a = torch.load(tmp_path / "folds" / d / "model.pt", weights_only=True)["state_dict"]
        b = torch.load(serial_run.out_dir / "folds" / d / "model.pt", weights_only=True)["state_dict"]
        assert all(torch.equal(a[k], b[k]) for k in a)
    if engine == "ray":
        import ray

        assert ray.is_initialized()  # a Ray it did not start is left running


def test_a_worker_killed_mid_fold_is_retried_and_nothing_is_lost(toy, serial_run, engine, tmp_path):
    features, config = toy
    markers = tmp_path / "markers"
    markers.mkdir()
    in_fold_s1 = _missing_subject_hook(1)

    def kill_in_second_epoch_of_s1(idx: np.ndarray) -> None:
        if not in_fold_s1(idx) or (markers / "killed").exists():
            return
        if (markers / "epoch1").exists():
            (markers / "killed").touch()
            os._exit(1)  # the worker process dies mid-fold, as if killed
        (markers / "epoch1").touch()

    run = run_experiment(
        config,
        features,
        tmp_path / "run",
        progress=False,
        executor=ExecutorOptions(2, engine),
        on_batch=kill_in_second_epoch_of_s1,
    )
    assert (markers / "killed").exists()  # the fault did happen
    assert run.failed == [] and run.folds_trained == FOLDS
    assert _comparable(run.metrics) == _comparable(serial_run.metrics)
    assert (tmp_path / "run" / "predictions.csv").read_text() == (
        serial_run.out_dir / "predictions.csv"
    ).read_text()


def test_parallel_failing_fold_is_reported_while_the_others_finish(toy, serial_run, engine, tmp_path):
    features, config = toy
    in_fold_s2 = _missing_subject_hook(2)

    def fail_in_s2(idx: np.ndarray) -> None:
        if in_fold_s2(idx):
            raise RuntimeError("boom in fold s2")

    run = run_experiment(
        config, features, tmp_path, progress=False, executor=ExecutorOptions(2, engine), on_batch=fail_in_s2
    )
    assert run.folds_trained == ["toy/s0", "toy/s1"]
    assert [(f["fold"], f["error"]) for f in run.failed] == [("toy/s2", "RuntimeError: boom in fold s2")]
    assert "fail_in_s2" in run.failed[0]["traceback"]
    assert json.loads((tmp_path / "metrics.json").read_text())["failed_folds"] == [
        {"fold": "toy/s2", "error": "RuntimeError: boom in fold s2"}
    ]
    for fold in ("toy/s0", "toy/s1"):
        np.testing.assert_array_equal(
            _fold_arrays(tmp_path, fold)["probs"], _fold_arrays(serial_run.out_dir, fold)["probs"]
        )


def test_interrupt_keeps_finished_folds_and_resume_completes(toy, serial_run, engine, tmp_path, monkeypatch):
    features, config = toy
    real_save = run_dir.save_fold
    saved: list[str] = []

    def save_then_interrupt(*args, **kwargs):
        real_save(*args, **kwargs)
        saved.append(args[5].name)
        raise KeyboardInterrupt  # Ctrl-C right after the first fold is on disk

    monkeypatch.setattr(run_dir, "save_fold", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(config, features, tmp_path, progress=False, executor=ExecutorOptions(2, engine))
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "folds").iterdir()) == [saved[0].replace("/", "__")]
    resumed = run_experiment(
        config, features, tmp_path, progress=False, executor=ExecutorOptions(2, engine), resume=True
    )
    assert resumed.folds_kept == saved and len(resumed.folds_trained) == 2
    assert _comparable(resumed.metrics) == _comparable(serial_run.metrics)


def test_prepare_in_parallel_writes_the_same_files(engine, tmp_path):
    sheet = render_dataset(
        tmp_path / "data", subjects=2, clips_per_subject=2, frames_per_clip=8, progress=False
    )
    samples = load_samples(
        "casme2", sheet, root=tmp_path / "data" / "CASME2_RAW_selected", protocol="casme2-5class"
    )
    config = PreprocessConfig(face_size=64, flow_method="dis")
    one = prepare_dataset(samples, config, tmp_path / "one", progress=False)
    two = prepare_dataset(samples, config, tmp_path / "two", ExecutorOptions(2, engine), progress=False)
    assert one.computed == two.computed == len(samples) == 4
    files = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "two").iterdir()) and MANIFEST in files
    assert LOCK_NAME not in files  # removed by the run that held it, once finished
    for name in files:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    with pytest.raises(LFDError, match="engine"):
        prepare_dataset(samples, config, tmp_path / "three", ExecutorOptions(engine="threads"))
