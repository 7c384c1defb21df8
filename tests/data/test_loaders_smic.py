"""SMIC loader: labels from the folder tree HS/s1/micro/<label>/<clip>/*.bmp."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.datasets import load_samples


def make_clip(tree: Path, subject: str, label: str, clip: str, numbers) -> Path:
    folder = tree / subject / "micro" / label / clip
    folder.mkdir(parents=True)
    for n in numbers:
        cv2.imwrite(str(folder / f"image{n:06d}.bmp"), np.zeros((4, 4), np.uint8))
    return folder


@pytest.fixture
def smic_tree(tmp_path: Path) -> Path:
    hs = tmp_path / "SMIC" / "HS"
    make_clip(hs, "s1", "negative", "s1_ne_01", range(100, 112))
    make_clip(hs, "s1", "surprise", "s1_sur_01", range(7, 12))
    make_clip(hs, "s2", "positive", "s2_po_01", range(98, 103))  # 98 < 100 < 102: numeric order
    make_clip(hs, "s10", "negative", "s10_ne_02", range(1, 4))
    return hs


def test_labels_and_intervals_from_folders(smic_tree):
    samples = load_samples("smic", smic_tree)
    assert [s.sample_id for s in samples] == [
        "smic/s1/s1_ne_01",
        "smic/s1/s1_sur_01",
        "smic/s2/s2_po_01",
        "smic/s10/s10_ne_02",
    ]
    assert [s.emotion for s in samples] == ["negative", "surprise", "positive", "negative"]
    assert [(s.onset, s.offset) for s in samples] == [(100, 111), (7, 11), (98, 102), (1, 3)]
    assert all(s.apex is None and s.apex_source == "missing" for s in samples)
    assert samples[2].frame_numbers == (98, 99, 100, 101, 102)
    assert samples[0].source == str(smic_tree / "s1" / "micro" / "negative" / "s1_ne_01")


def test_parent_folder_and_protocol(smic_tree):
    samples = load_samples("smic", smic_tree.parent, protocol="smic-3class")  # the folder holding HS
    assert [s.label for s in samples] == [0, 2, 1, 0]


def test_frames_from_another_root(smic_tree, tmp_path):
    cropped = tmp_path / "cropped" / "HS"
    make_clip(cropped, "s1", "negative", "s1_ne_01", range(100, 105))
    make_clip(cropped, "s1", "surprise", "s1_sur_01", range(7, 12))
    make_clip(cropped, "s2", "positive", "s2_po_01", range(98, 103))
    with pytest.raises(LFDError, match=r"clip folder not found: .*cropped/HS/s10/micro/negative/s10_ne_02"):
        load_samples("smic", smic_tree, root=cropped)
    make_clip(cropped, "s10", "negative", "s10_ne_02", range(1, 4))
    samples = load_samples("smic", smic_tree, root=cropped)
    assert samples[0].frames[0].parent == cropped / "s1" / "micro" / "negative" / "s1_ne_01"
    assert samples[0].offset == 104


def test_unknown_label_folder(smic_tree):
    make_clip(smic_tree, "s2", "happy", "s2_ha_01", range(3))
    with pytest.raises(LFDError, match="unknown SMIC label folder 'happy'") as err:
        load_samples("smic", smic_tree)
    assert err.value.path == str(smic_tree / "s2" / "micro" / "happy")


def test_empty_clip_and_empty_tree(smic_tree, tmp_path):
    (smic_tree / "s2" / "micro" / "positive" / "s2_po_02").mkdir()
    with pytest.raises(LFDError, match="no frame images"):
        load_samples("smic", smic_tree)
    (tmp_path / "empty").mkdir()
    with pytest.raises(LFDError, match="no SMIC subject folders"):
        load_samples("smic", tmp_path / "empty")
