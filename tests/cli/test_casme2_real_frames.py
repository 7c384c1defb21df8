"""The real-clip path (issue 32): ``benchmarks/casme2.yaml`` from real CASME II frames to the
table, on a slice of three subjects, as a user with a partial copy would run it.

The slice is the official coding sheet's rows of sub01-sub03 (a CSV in the sheet's own columns)
over the real Cropped frames in ../shared/data/casme2_cropped; skipped where they are absent.
One seed, one epoch, two methods, the honest protocol: the shipped data and prepare sections are
the ones exercised (one similarity transform per clip from dlib landmarks, Dual TV-L1, the
temporal-complement segments).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import yaml

from lfd_tcmen.cli import main

REPO = Path(__file__).resolve().parents[2]
SUBJECTS = ("01", "02", "03")


@pytest.fixture(scope="module")
def casme2_slice(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> tuple[Path, Path]:
    root = shared_data / "casme2_cropped"
    sheet = shared_data / "annotations" / "casme2" / "CASME2-coding-20190701.xlsx"
    if not root.is_dir() or not sheet.is_file():
        pytest.skip(f"real CASME II frames or sheet not found ({root}, {sheet})")
    header, *rows = openpyxl.load_workbook(sheet, read_only=True)["Sheet1"].iter_rows(values_only=True)
    path = tmp_path_factory.mktemp("casme2_slice") / "CASME2-coding-slice.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(r for r in rows if str(r[0]).strip().zfill(2) in SUBJECTS)
    return root, path


def test_real_frames_to_table(casme2_slice: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    root, sheet = casme2_slice
    config = tmp_path / "casme2_slice.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "based_on": str(REPO / "benchmarks" / "casme2.yaml"),
                "seeds": [0],
                "protocols": ["honest"],
                "train": {"epochs": 1, "batch_size": 16, "threads": 1, "probe_folds": 0},
            }
        ),
        encoding="utf-8",
    )
    store, out = tmp_path / "store", tmp_path / "out"
    argv = ["benchmark", "--config", str(config), "--data", str(store), "--root", str(root)]
    argv += ["--annotations", str(sheet), "--out", str(out), "--no-progress", "--resamples", "100"]
    argv += ["--methods", "lfd_tcmen,off_apexnet_shared"]
    assert main(argv) == 0, capsys.readouterr().err
    manifest = json.loads((store / "manifest.json").read_text())
    ok = [s for s in manifest["samples"] if s["status"] == "ok"]
    assert len(ok) == len(manifest["samples"]) >= 20  # 5-class rows of sub01-03, all present here
    assert {s["subject"] for s in ok} == {f"sub{k}" for k in SUBJECTS}
    assert manifest["segments"] == ["onset:apex", "onset:mid", "mid:apex", "apex:offset"]
    with np.load(store / ok[0]["file"], allow_pickle=False) as stored:
        assert stored["faces"].shape == (3, 128, 128) and stored["flows"].shape == (4, 3, 128, 128)
        assert 0.05 < float(np.abs(stored["flows"][0, :2]).mean()) < 5  # real motion, in pixels
    results = json.loads((out / "results.json").read_text())
    scored = {r["method"]: r for r in results["rows"] if "uf1" in r}
    assert set(scored) == {"lfd_tcmen", "off_apexnet_shared"}
    assert all(r["n"] == len(ok) for r in scored.values())  # every sample predicted once, LOSO
