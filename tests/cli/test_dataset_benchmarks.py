"""Each dataset's benchmark, one command from raw frames to the table, on its synthetic layout.

For every layout ``lfd-tcmen data synth --layout`` renders, the shipped ``benchmarks/<dataset>.yaml``
runs as a user would run it: ``benchmark --root FRAMES --annotations FILE...`` prepares the
feature store (real face alignment and TV-L1 flows), then trains. The test's YAML is
``based_on`` the shipped one and only makes it small (one seed, one epoch, LFD-TCMEN and one
ablation, two folds), so the shipped data and prepare sections are the ones exercised.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lfd_tcmen.cli import main
from lfd_tcmen.config.benchmark import load_benchmark
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.synth.render import render_layout
from toys import SMALL_MODEL

REPO = Path(__file__).resolve().parents[2]
# layout -> (benchmark, subjects rendered, folds run: None = every fold)
LAYOUTS = {
    "casme2": ("casme2", 2, None),
    "samm": ("samm", 2, None),
    "smic": ("smic", 2, None),
    "mmew": ("mmew", 2, None),
    "casme3": ("casme3", 2, None),
    "casme3c": ("casme3c", 2, None),
    "dfme": ("dfme", 10, "fold00,fold01"),  # subject-level 10-fold: ten subjects at least
}


def small(benchmark: str, store: Path, tmp: Path) -> Path:
    path = tmp / f"{benchmark}_small.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "based_on": str(REPO / "benchmarks" / f"{benchmark}.yaml"),
                "seeds": [0],
                "protocols": ["honest"],
                "train": {"epochs": 1, "batch_size": 8, "threads": 1, "probe_folds": 0},
                "methods": [{"name": "lfd_tcmen", "model": "lfd_tcmen", "params": SMALL_MODEL}],
                "ablations": [{"name": "no_drl", "ablation_of": "lfd_tcmen", "params": {"use_drl": False}}],
                "variants": [],
            }
        ),
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_raw_frames_to_table(layout: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    benchmark, subjects, folds = LAYOUTS[layout]
    rendered = render_layout(
        layout,
        tmp_path / "raw",
        subjects=subjects,
        clips_per_subject=4,
        size=64,
        frames_per_clip=12,
        progress=False,
    )
    store, out = tmp_path / "store", tmp_path / "out"
    argv = ["benchmark", "--config", str(small(benchmark, store, tmp_path)), "--data", str(store)]
    argv += ["--root", str(rendered.root), "--annotations", *map(str, rendered.annotations)]
    argv += ["--out", str(out), "--no-progress", "--resamples", "200"]
    argv += ["--folds", folds] if folds else []
    assert main(argv) == 0, capsys.readouterr().err
    manifest = json.loads((store / "manifest.json").read_text())
    ok = [s for s in manifest["samples"] if s["status"] == "ok"]
    protocol = load_benchmark(REPO / "benchmarks" / f"{benchmark}.yaml").prepare.protocol
    kept = [
        s for a in rendered.annotations for s in load_samples(rendered.dataset, a, rendered.root, protocol)
    ]
    assert len(ok) == len(manifest["samples"]) == len(kept) >= 2 * subjects  # every clip of the protocol
    results = json.loads((out / "results.json").read_text())
    rows = {(r["method"], r.get("variant")): r for r in results["rows"] if "uf1" in r}
    assert {("lfd_tcmen", None), ("no_drl", None)} <= set(rows)
    n_test = sum(r["n"] for r in [rows[("lfd_tcmen", None)]])
    assert 0 < n_test <= len(ok) and 0.0 <= rows[("lfd_tcmen", None)]["uf1"] <= 1.0
    table = (out / "table.md").read_text()
    assert "| lfd_tcmen " in table and "| no_drl " in table and "ΔUF1 vs lfd_tcmen" in table
    assert f"({len(ok)} computed, 0 already there" in capsys.readouterr().out
    # a second run reuses the store (nothing recomputed) and the finished folds
    assert main([*argv, "--resume"]) == 0
    assert f"(0 computed, {len(ok)} already there" in capsys.readouterr().out
    again = {
        (r["method"], r.get("variant")): r for r in json.loads((out / "results.json").read_text())["rows"]
    }
    assert again[("lfd_tcmen", None)]["uf1"] == rows[("lfd_tcmen", None)]["uf1"]
