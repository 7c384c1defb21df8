"""``lfd-tcmen prepare`` end to end on the synthetic CASME II-layout dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lfd_tcmen.cli import main
from lfd_tcmen.preprocess.load import load_feature_set
from lfd_tcmen.synth.render import render_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("synthetic")
    sheet = render_dataset(out, subjects=2, clips_per_subject=2, frames_per_clip=8, progress=False)
    return sheet, out / "CASME2_RAW_selected"


def _args(dataset: tuple[Path, Path], out: Path, config: Path, *extra: str) -> list[str]:
    sheet, root = dataset
    return [
        "prepare", "--dataset", "casme2", "--root", str(root), "--annotations", str(sheet),
        "--labels", "casme2-5class", "--out", str(out), "--config", str(config), "--no-progress", *extra,
    ]  # fmt: skip


def test_prepare_cli(dataset: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "experiment.yaml"
    config.write_text("preprocess:\n  face_size: 64\n  flow_method: dis\n")
    out = tmp_path / "store"
    rc = main(_args(dataset, out, config, "--workers", "2", "--export-uvs28", str(tmp_path / "uvs")))
    assert rc == 0
    printed = capsys.readouterr().out
    assert f"prepared 4/4 samples in {out}" in printed and "4 computed" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["face_size"] == 64 and manifest["config"]["flow_method"] == "dis"
    assert len(list((tmp_path / "uvs").glob("*_* .png"))) == 4
    fs = load_feature_set(out)
    assert len(fs) == 4 and fs.protocol == "casme2-5class"
    # a rerun resumes: nothing is recomputed
    assert main(_args(dataset, out, config)) == 0
    assert "0 computed, 4 already there" in capsys.readouterr().out


def test_prepare_cli_nothing_prepared(
    dataset: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # landmarks: file, but a private copy of the frames without landmark files
    sheet, root = dataset
    copy = tmp_path / "frames"
    for frame in root.rglob("*.jpg"):
        target = copy / frame.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(frame.read_bytes())
    config = tmp_path / "pre.yaml"
    config.write_text("face_size: 64\nflow_method: dis\nlandmarks: file\n")
    rc = main(_args((sheet, copy), tmp_path / "store", config))
    assert rc == 2
    captured = capsys.readouterr()
    assert "prepared 0/4 samples" in captured.out and "4 skipped" in captured.out
    err = captured.err.strip().splitlines()  # one warning per skipped sample, then the error
    assert len(err) == 5 and all("landmarks file not found" in line for line in err[:4])
    assert err[-1].startswith("lfd-tcmen: error:") and "no sample could be prepared (4 skipped" in err[-1]


def test_prepare_cli_bad_config(
    dataset: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("preprocess:\n  face_sise: 64\n")
    assert main(_args(dataset, tmp_path / "store", config)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(config) in err[0] and "face_sise" in err[0]


def test_prepare_cli_missing_frame_skips_that_sample_only(
    dataset: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A frame missing on disk skips its one sample, names the file, and the rest is prepared."""
    sheet, root = dataset
    copy = tmp_path / "frames"
    for path in root.rglob("*"):
        if path.is_file():
            target = copy / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    clip = sorted(p for p in copy.glob("sub*/*") if p.is_dir())[0]
    victim = sorted(clip.glob("img*.jpg"), key=lambda p: int(p.stem[3:]))[2]
    victim.unlink()
    config = tmp_path / "pre.yaml"
    config.write_text("face_size: 64\nflow_method: dis\n")
    rc = main(_args((sheet, copy), tmp_path / "store", config))
    assert rc == 0
    captured = capsys.readouterr()
    assert "prepared 3/4 samples" in captured.out and "1 skipped" in captured.out
    (warning,) = captured.err.strip().splitlines()
    assert warning.startswith("lfd-tcmen: warning: skipped ") and str(victim) in warning
