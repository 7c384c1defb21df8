"""The README's Python example runs as printed, on a small synthetic set laid out as `make demo` lays it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.store import prepare_dataset
from lfd_tcmen.synth.render import render_dataset

REPO = Path(__file__).resolve().parents[1]


def readme_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- api-example -->\s*```python\n(.*?)```", text, re.S)
    assert match, "README: no ```python block after <!-- api-example -->"
    return match.group(1)


def test_the_example_is_short():
    assert len([line for line in readme_example().splitlines() if line.strip()]) <= 12


@pytest.mark.slow
def test_the_readme_example_runs_as_printed(tmp_path):
    synth = tmp_path / ".demo" / "synth"
    sheet = render_dataset(synth, subjects=3, clips_per_subject=3, frames_per_clip=8, progress=False)
    samples = load_samples("casme2", sheet, root=synth / "CASME2_RAW_selected", protocol="casme2-3class")
    prepare_dataset(
        samples,
        PreprocessConfig(face_size=64, flow_method="dis"),
        tmp_path / ".demo" / "store",
        progress=False,
    )
    config = yaml.safe_load((REPO / "configs" / "synthetic.yaml").read_text())
    config["train"]["epochs"] = 1  # the demo's config, one epoch
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "synthetic.yaml").write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [sys.executable, "-c", readme_example()], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert "'uf1'" in lines[0] and lines[-1] in ("negative", "positive", "surprise")
    assert sorted(p.name for p in (tmp_path / "runs" / "api" / "folds").iterdir()) == [
        "casme2__sub01",
        "casme2__sub02",
        "casme2__sub03",
    ]
