"""``lfd-tcmen train`` end to end on a tiny prepared synthetic store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lfd_tcmen.cli import main
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.models.checkpoint import load_checkpoint
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.store import prepare_dataset
from lfd_tcmen.synth.render import render_dataset

CONFIG = """\
name: tiny
seed: 1
data: {{source: store, path: {store}, face_size: 32, flow_size: 8}}
model:
  name: lfd_tcmen
  params: {{identity_dim: 8, motion_dim: 8, flow_dim: 16, face_width: 4, flow_width: 4, face_resolution: 16}}
train: {{epochs: 1, batch_size: 4, threads: 1}}
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    sheet = render_dataset(root, subjects=3, clips_per_subject=3, frames_per_clip=8, progress=False)
    samples = load_samples("casme2", sheet, root=root / "CASME2_RAW_selected", protocol="casme2-3class")
    out = root / "store"
    report = prepare_dataset(samples, PreprocessConfig(face_size=64, flow_method="dis"), out, progress=False)
    assert report.prepared == len(samples) >= 6
    return out


@pytest.fixture
def config(store: Path, tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(CONFIG.format(store=store))
    return path


def test_list_folds_prints_one_subject_per_line(config, capsys):
    assert main(["train", "--config", str(config), "--list-folds"]) == 0
    assert capsys.readouterr().out.splitlines() == ["casme2/sub01", "casme2/sub02", "casme2/sub03"]


def test_train_writes_the_run_and_resumes(config, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--config", str(config), "--out", str(out), "--no-progress"]
    assert main([*args, "--folds", "sub02", "--epochs", "2"]) == 0
    printed = capsys.readouterr().out
    assert "folds: 1/3" in printed and "protocol: honest" in printed
    assert main([*args, "--epochs", "2"]) == 2  # finished folds are never overwritten silently
    assert "--resume" in capsys.readouterr().err
    assert main([*args, "--epochs", "2", "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "folds: 3/3 (1 kept from before)" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"] == "honest" and metrics["epochs"] == 2 and metrics["overall"]["n"] >= 6
    assert f"UF1 {metrics['overall']['uf1']:.4f}" in printed
    assert (out / "folds" / "casme2__sub02" / "model.pt").is_file()


def test_leaky_protocol_from_the_command_line(config, tmp_path, capsys):
    out = tmp_path / "leaky"
    argv = [
        "train",
        "--config",
        str(config),
        "--out",
        str(out),
        "--protocol",
        "leaky-best-epoch",
        "--no-progress",
    ]
    assert main([*argv, "--folds", "casme2/sub01"]) == 0
    assert "LEAKY" in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text())["protocol"] == "leaky-best-epoch"
    assert (out / "predictions_leaky-best-epoch.csv").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--folds", "sub09"], "unknown fold 'sub09'"),
        (["--model", "nonesuch"], "unknown model 'nonesuch'"),
        (["--folds", ","], "--folds is empty"),  # never "all folds"
        (["--seeds", "1,x"], "--seeds: 'x' is not an integer"),
    ],
)
def test_bad_arguments_are_one_line(config, tmp_path, capsys, extra, message):
    assert (
        main(["train", "--config", str(config), "--out", str(tmp_path / "r"), "--no-progress", *extra]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lfd-tcmen: error:") and message in err[0]


def test_bad_config_names_the_file(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("train: {epochz: 1}\n")
    assert main(["train", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert str(path) in err and "train.epochz" in err


def test_composite_list_folds_on_real_data(shared_data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LFD_TCMEN_DATA", str(shared_data))
    config = Path(__file__).resolve().parents[2] / "configs" / "megc2019_composite.yaml"
    assert main(["train", "--config", str(config), "--list-folds"]) == 0
    folds = capsys.readouterr().out.splitlines()
    assert len(folds) == 68
    assert {f.split("/")[0] for f in folds} == {"casme2", "samm", "smic"}


def test_final_trains_on_every_subject_and_records_the_loso_estimate(config, tmp_path, capsys):
    loso, final = tmp_path / "loso", tmp_path / "final"
    assert main(["train", "--config", str(config), "--out", str(loso), "--no-progress"]) == 0
    uf1 = json.loads((loso / "metrics.json").read_text())["overall"]["uf1"]
    base = ["train", "--config", str(config), "--final", "--no-progress"]
    assert main([*base, "--out", str(final), "--estimate", str(loso)]) == 0
    model = final / "folds" / "all" / "model.pt"
    capsys.readouterr()
    estimate = load_checkpoint(model).extra["estimate"]
    assert estimate["overall"]["uf1"] == uf1 and estimate["run"] == str(loso.resolve())
    # without --estimate: a warning, and the checkpoint says so
    assert main([*base, "--out", str(tmp_path / "bare")]) == 0
    assert "warning: no honest estimate recorded" in capsys.readouterr().err
    bare = load_checkpoint(tmp_path / "bare" / "folds" / "all" / "model.pt").extra["estimate"]
    assert bare["recorded"] is False
    # a run of another config is refused before training, in one line
    argv = [*base, "--out", str(tmp_path / "x"), "--estimate", str(loso), "--epochs", "2"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "train.epochs: 1 there, 2 here" in err[0] and not (tmp_path / "x").exists()
