"""MEGC2019 composite: file matching, arrays, and the real 442-sample benchmark."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.composite import load_composite, name_key, read_composite_index
from lfd_tcmen.data.datasets import load_samples


@pytest.fixture(scope="module")
def composite_dir(shared_data: Path) -> Path:
    return shared_data / "megc2019_composite"


@pytest.fixture(scope="module")
def composite(composite_dir):
    return load_composite(composite_dir)


def test_real_counts(composite):
    assert len(composite) == 442
    assert len(set(composite.subjects)) == 68
    assert Counter(composite.labels.tolist()) == {0: 250, 1: 109, 2: 83}
    assert Counter(composite.datasets) == {"smic": 164, "casme2": 145, "samm": 133}
    per_dataset = Counter(s.split("/")[0] for s in set(composite.subjects))
    assert per_dataset == {"smic": 16, "casme2": 24, "samm": 28}  # the challenge's 68 = 16 + 24 + 28
    assert composite.class_names == ("negative", "positive", "surprise")
    assert composite.protocol == "megc2019-3class"


def test_real_subject_ids_match_the_loaders(composite):
    subjects = set(composite.subjects)
    assert {"casme2/sub01", "samm/006", "samm/035", "smic/s1", "smic/s20"} <= subjects
    assert not any(s in subjects for s in ("samm/6", "smic/s01"))
    assert composite.sample_ids[0] == "casme2/sub01/EP02_01f"


def test_real_arrays(composite):
    assert composite.faces.shape == (442, 1, 64, 64) and composite.faces.dtype == np.float32
    assert composite.flows.shape == (442, 1, 3, 28, 28) and composite.flows.dtype == np.float32
    assert composite.face_frames == ("apex",) and composite.flow_segments == ("onset:apex",)
    assert 0.0 <= composite.faces.min() and composite.faces.max() <= 1.0
    assert composite.faces.std(axis=(2, 3)).min() > 0.05  # every face is an image, not a blank
    # stored flows are min-max normalised per sample and channel: each spans exactly 0..1
    assert np.all(composite.flows.min(axis=(3, 4)) == 0.0) and np.all(composite.flows.max(axis=(3, 4)) == 1.0)


def test_real_resizing(composite_dir):
    small = load_composite(composite_dir, face_size=32, flow_size=14)
    assert small.faces.shape == (442, 1, 32, 32) and small.flows.shape == (442, 1, 3, 14, 14)
    assert 0.0 <= small.flows.min() and small.flows.max() <= 1.0


def test_real_file_names_that_differ_are_matched(composite_dir):
    entries = {e.sample_id: e for e in read_composite_index(composite_dir / "combined_3class_gt.csv")}
    smic = entries["smic/s4/s04_sur_02"]
    assert smic.flow.name == "s04_s04_sur_02 .png" and smic.face.name == "s04_s4_sur_02.jpg"
    samm = entries["samm/006/006_1_2"]
    assert samm.gt_subject == "6" and samm.flow.name == "006_006_1_2 .png"
    assert samm.source.endswith("combined_3class_gt.csv, row 310")  # casme2 145, smic 164 come first


def test_real_megc2019_sample_loader(composite_dir):
    samples = load_samples("megc2019", composite_dir / "combined_3class_gt.csv", protocol="megc2019-3class")
    assert len(samples) == 442
    assert Counter(s.class_name for s in samples) == {"negative": 250, "positive": 109, "surprise": 83}
    assert len({s.qualified_subject for s in samples}) == 68
    assert all(s.features["flow"].is_file() and s.features["apex_face"].is_file() for s in samples)
    fs = load_composite(composite_dir, face_size=16, flow_size=7)
    assert [s.sample_id for s in samples] == fs.sample_ids
    assert [s.label for s in samples] == fs.labels.tolist()


def test_name_key():
    assert name_key("s04_s04_sur_02 ") == name_key("s04_s4_sur_02") == ("s4", "s4", "sur", "2")
    assert name_key("sub01_EP02_01f") == ("sub1", "ep2", "1f")
    assert name_key("006_006_1_2") == name_key("6_006_1_2")


def write_composite(root: Path, rows: list[str]) -> None:
    (root / "flow_uvos_28").mkdir(parents=True)
    (root / "apex_face_224").mkdir()
    (root / "combined_3class_gt.csv").write_text("".join(r + "\r\n" for r in rows))


def flow_image(seed: int) -> np.ndarray:
    """28x28 RGB with R, G, B each spanning 0..255 (u, v, strain)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (28, 28, 3)).astype(np.uint8)
    img[0, 0], img[0, 1] = 0, 255
    return img


def test_channels_and_grey_faces(tmp_path):
    write_composite(tmp_path, ["samm,6,006_1_2,2"])
    rgb = flow_image(1)
    cv2.imwrite(str(tmp_path / "flow_uvos_28" / "006_006_1_2 .png"), rgb[:, :, ::-1])  # OpenCV writes BGR
    face = np.zeros((224, 224, 3), np.uint8)
    face[:, :, 2] = 255  # pure red in BGR
    cv2.imwrite(str(tmp_path / "apex_face_224" / "006_006_1_2.jpg"), face)
    fs = load_composite(tmp_path, face_size=8)
    np.testing.assert_allclose(
        fs.flows[0, 0], rgb.transpose(2, 0, 1) / 255.0, atol=1e-6
    )  # R=u, G=v, B=strain
    assert abs(float(fs.faces[0, 0].mean()) - 0.299) < 0.01  # luminance of pure red
    assert fs.subjects == ["samm/006"] and fs.labels.tolist() == [2]


def test_unmatched_and_ambiguous_files(tmp_path):
    write_composite(tmp_path, ["smic,s01,s01_ne_01,0", "smic,s01,s01_po_01,1"])
    for stem in ("s01_s01_ne_01 ", "s01_s01_po_01 "):
        cv2.imwrite(str(tmp_path / "flow_uvos_28" / f"{stem}.png"), flow_image(0))
    cv2.imwrite(str(tmp_path / "apex_face_224" / "s01_s1_ne_01.jpg"), np.zeros((224, 224, 3), np.uint8))
    with pytest.raises(
        LFDError, match=r"combined_3class_gt\.csv, row 2: no file matches this sample: .*s01_s01_po_01\.jpg"
    ):
        load_composite(tmp_path)
    for name in ("s01_s1_po_01.jpg", "s1_s01_po_1.jpg"):
        cv2.imwrite(str(tmp_path / "apex_face_224" / name), np.zeros((224, 224, 3), np.uint8))
    with pytest.raises(LFDError, match="row 2: ambiguous files for this sample"):
        load_composite(tmp_path)


def test_bad_ground_truth_rows(tmp_path):
    write_composite(tmp_path, ["smic,s01,s01_ne_01,3"])
    with pytest.raises(LFDError, match="row 1: unknown label '3'"):
        load_composite(tmp_path)
    (tmp_path / "combined_3class_gt.csv").write_text("smic,s01,0\n")
    with pytest.raises(LFDError, match="row 1: expected 4 columns"):
        load_composite(tmp_path)
    with pytest.raises(LFDError, match="ground truth file not found"):
        load_composite(tmp_path / "nowhere")


def test_a_sample_listed_twice_is_refused_naming_both_rows(tmp_path):
    """Issue 13.5: a duplicated ground-truth row used to be trained and scored twice."""
    write_composite(tmp_path, ["samm,006,006_1_2,2", "smic,s01,s01_ne_01,0", "samm,006,006_1_2,2"])
    for stem in ("006_006_1_2", "s01_s01_ne_01"):
        cv2.imwrite(str(tmp_path / "flow_uvos_28" / f"{stem} .png"), flow_image(0))
        cv2.imwrite(str(tmp_path / "apex_face_224" / f"{stem}.jpg"), np.zeros((224, 224, 3), np.uint8))
    with pytest.raises(
        LFDError,
        match=r"combined_3class_gt\.csv, row 3: sample samm 006 006_1_2 is listed twice \(rows 1 and 3\)",
    ):
        read_composite_index(tmp_path / "combined_3class_gt.csv")
