"""Feature store: files and manifest, resume, skipped samples, N workers == 1, the shared transform."""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.data.record import Sample
from lfd_tcmen.parallel import ExecutorOptions
from lfd_tcmen.preprocess.clip_file import feature_file_name, read_clip_features, write_npz
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.inputs import model_inputs
from lfd_tcmen.preprocess.load import load_feature_set
from lfd_tcmen.preprocess.manifest import MANIFEST
from lfd_tcmen.preprocess.pipeline import ClipFeatures, process_sample
from lfd_tcmen.preprocess.store import prepare_dataset
from lfd_tcmen.preprocess.uvs28_pngs import export_uvs28_pngs
from lfd_tcmen.synth.render import render_dataset

FAST = PreprocessConfig(face_size=64, flow_method="dis")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    render_dataset(out, subjects=2, clips_per_subject=3, frames_per_clip=8, progress=False)
    return out


@pytest.fixture()
def samples(dataset: Path, tmp_path: Path) -> list[Sample]:
    """A private copy of the dataset (tests damage frames), loaded under casme2-5class."""
    root = tmp_path / "data"
    shutil.copytree(dataset, root)
    return load_samples(
        "casme2",
        root / "CASME2-coding-synthetic.xlsx",
        root=root / "CASME2_RAW_selected",
        protocol="casme2-5class",
    )


def _files(store: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(store.glob("*.npz"))}


def test_file_names() -> None:
    assert feature_file_name("casme2/sub01/EP02_01f", "abc123") == "casme2__sub01__EP02_01f.abc123.npz"
    assert feature_file_name("smic/s1/s1 ne:01", "d").startswith("smic__s1__s1_ne_01+")
    # ids the plain spelling would merge get files of their own
    assert feature_file_name("casme2/sub01/EP17 01", "d") != feature_file_name("casme2/sub01/EP17_01", "d")
    assert feature_file_name("a/b_/c", "d") != feature_file_name("a/b/_c", "d")


def test_npz_is_deterministic_and_atomic(tmp_path: Path) -> None:
    arrays = {"faces": np.arange(12, dtype=np.uint8).reshape(3, 2, 2), "meta": np.array('{"a": 1}')}
    write_npz(tmp_path / "a.npz", arrays)
    write_npz(tmp_path / "b.npz", arrays)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "b.npz"]  # no temporary left
    with zipfile.ZipFile(tmp_path / "a.npz") as zf:  # no wall-clock time in the bytes
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    with np.load(tmp_path / "a.npz", allow_pickle=False) as data:
        np.testing.assert_array_equal(data["faces"], arrays["faces"])


def test_prepare_and_load(samples: list[Sample], tmp_path: Path) -> None:
    store = tmp_path / "store"
    report = prepare_dataset(samples, FAST, store, progress=False)
    assert (report.total, report.computed, report.reused, report.skipped) == (6, 6, 0, [])
    manifest = json.loads((store / MANIFEST).read_text())
    assert manifest["digest"] == FAST.digest() and manifest["config"] == FAST.to_dict()
    assert manifest["protocol"] == "casme2-5class"
    assert manifest["class_names"] == ["happiness", "disgust", "repression", "surprise", "others"]
    assert [e["sample_id"] for e in manifest["samples"]] == [s.sample_id for s in samples]
    assert all(e["status"] == "ok" and (store / e["file"]).is_file() for e in manifest["samples"])

    arrays, meta = read_clip_features(store / manifest["samples"][0]["file"])
    first = samples[0]
    assert arrays["faces"].shape == (3, 64, 64) and arrays["faces"].dtype == np.uint8
    assert arrays["flows"].shape == (4, 3, 64, 64)
    assert (meta["sample_id"], meta["label"], meta["class_name"]) == (
        first.sample_id,
        first.label,
        first.class_name,
    )
    assert (meta["onset"], meta["apex"], meta["offset"]) == (first.onset, first.apex, first.offset)
    assert meta["apex_source"] == "annotation" and meta["subject"] == first.subject

    fs = load_feature_set(store, face_size=32, flow_size=28)
    assert fs.faces.shape == (6, 3, 32, 32) and fs.flows.shape == (6, 4, 3, 28, 28)
    assert fs.labels.tolist() == [s.label for s in samples]
    assert fs.subjects == [s.qualified_subject for s in samples]
    assert fs.flow_segments == FAST.segments and fs.face_frames == ("onset", "apex", "offset")
    assert fs.class_names[fs.labels[0]] == samples[0].class_name
    assert 0.0 <= fs.faces.min() and fs.faces.max() <= 1.0
    # min-max per segment and channel: every flow image spans exactly [0, 1]
    np.testing.assert_allclose(fs.flows.min(axis=(3, 4)), 0.0, atol=1e-6)
    np.testing.assert_allclose(fs.flows.max(axis=(3, 4)), 1.0, atol=1e-6)
    # load_feature_set and model_inputs are the same transform
    faces, flows = model_inputs(arrays, face_size=32, flow_size=28)
    np.testing.assert_array_equal(fs.faces[0], faces)
    np.testing.assert_array_equal(fs.flows[0], flows)


def test_float16_storage_is_accurate(samples: list[Sample]) -> None:
    feats = process_sample(samples[0], PreprocessConfig(face_size=64))
    stored = replace(feats, flows=feats.flows.astype(np.float16).astype(np.float32))
    for norm in ("minmax", "none"):
        _, exact = model_inputs(feats, flow_norm=norm)
        _, rounded = model_inputs(stored, flow_norm=norm)
        scale = 1.0 if norm == "minmax" else float(np.abs(exact).max())
        assert np.abs(exact - rounded).max() < 2e-3 * scale


def test_resume_recomputes_only_missing(samples: list[Sample], tmp_path: Path) -> None:
    store = tmp_path / "store"
    prepare_dataset(samples, FAST, store, progress=False)
    before = _files(store)
    stamps = {p.name: p.stat().st_mtime_ns for p in store.glob("*.npz")}
    victim = feature_file_name(samples[4].sample_id, FAST.digest())
    (store / victim).unlink()
    (store / f"{victim}.tmp999").write_bytes(b"half-written")  # left by an interrupted run
    report = prepare_dataset(samples, FAST, store, progress=False)
    assert (report.computed, report.reused, report.skipped) == (1, 5, [])
    assert _files(store) == before  # the recomputed file is byte-identical
    assert not list(store.glob("*.tmp*"))
    changed = [p.name for p in store.glob("*.npz") if p.stat().st_mtime_ns != stamps[p.name]]
    assert changed == [victim]
    # an unreadable file (not written by us: ours are renamed into place) is recomputed too
    broken = feature_file_name(samples[0].sample_id, FAST.digest())
    (store / broken).write_bytes(b"garbage")
    report = prepare_dataset(samples, FAST, store, progress=False)
    assert (report.computed, report.reused) == (1, 5)
    assert _files(store) == before
    # a complete store is left alone, manifest included (so it may be shared read-only)
    manifest = store / MANIFEST
    stamp = manifest.stat().st_mtime_ns
    report = prepare_dataset(samples, FAST, store, progress=False)
    assert (report.computed, report.reused) == (0, 6) and manifest.stat().st_mtime_ns == stamp


def _flip_bytes(path: Path, member: str) -> None:
    """Flip 16 bytes inside one member's stored data (the zip headers stay valid)."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2
    data[start : start + 16] = bytes(b ^ 0xFF for b in data[start : start + 16])
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["flipped faces", "object array", "wrong shape", "empty file"])
def test_resume_verifies_kept_files_and_recomputes_damaged_ones(
    samples: list[Sample], tmp_path: Path, damage: str
) -> None:
    """Issue 13.9: resume used to read only the meta, so damaged arrays surfaced later in train."""
    store = tmp_path / "store"
    prepare_dataset(samples, FAST, store, progress=False)
    before = _files(store)
    victim = store / feature_file_name(samples[2].sample_id, FAST.digest())
    if damage == "flipped faces":
        _flip_bytes(victim, "faces.npy")
    elif damage == "empty file":
        victim.write_bytes(b"")
    else:
        with np.load(victim, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        if damage == "object array":
            arrays["faces"] = np.array([None, 1], dtype=object)
            np.savez(victim.with_suffix(""), **arrays)  # np.savez appends .npz
        else:
            arrays["flows"] = arrays["flows"][:1]
            write_npz(victim, arrays)
    report = prepare_dataset(samples, FAST, store, progress=False)
    assert (report.computed, report.reused, report.skipped) == (1, 5, [])
    assert [r["file"] for r in report.recomputed] == [str(victim)]
    assert "failed verification" in report.format() and victim.name in report.format()
    assert _files(store) == before


def test_corrupt_frame_skips_only_that_sample(samples: list[Sample], tmp_path: Path) -> None:
    bad = samples[1]
    frame = bad.frames[bad.frame_index(bad.apex)]
    frame.write_bytes(frame.read_bytes()[:300])  # truncated JPEG
    store = tmp_path / "store"
    report = prepare_dataset(samples, FAST, store, progress=False)
    assert (report.total, report.prepared) == (6, 5)
    assert [s["sample_id"] for s in report.skipped] == [bad.sample_id]
    assert str(frame) in report.skipped[0]["reason"] and "truncated JPEG" in report.skipped[0]["reason"]
    assert str(frame) in report.format()
    manifest = json.loads((store / MANIFEST).read_text())
    entry = manifest["samples"][1]
    assert (entry["status"], entry["path"]) == ("skipped", str(frame))
    assert not (store / entry["file"]).exists()
    fs = load_feature_set(store)
    assert bad.sample_id not in fs.sample_ids and len(fs) == 5
    # repairing the frame and rerunning completes the store
    cv2.imwrite(str(frame), cv2.imread(str(bad.frames[0])))
    report = prepare_dataset(samples, FAST, store, progress=False)
    assert (report.computed, report.reused, report.skipped) == (1, 5, [])


def test_workers_give_identical_files(samples: list[Sample], tmp_path: Path) -> None:
    one = prepare_dataset(samples, FAST, tmp_path / "one", progress=False)
    two = prepare_dataset(samples, FAST, tmp_path / "two", ExecutorOptions(workers=2), progress=False)
    assert one.computed == two.computed == 6
    assert _files(tmp_path / "one") == _files(tmp_path / "two")
    assert (tmp_path / "one" / MANIFEST).read_text() == (tmp_path / "two" / MANIFEST).read_text()


def test_export_uvs28_pngs(samples: list[Sample], tmp_path: Path) -> None:
    store = tmp_path / "store"
    prepare_dataset(samples[:2], FAST, store, progress=False)
    written = export_uvs28_pngs(store, tmp_path / "uvs")
    assert [p.name for p in written] == [f"{s.subject}_{s.clip} .png" for s in samples[:2]]
    rgb = cv2.cvtColor(cv2.imread(str(written[0])), cv2.COLOR_BGR2RGB)
    assert rgb.shape == (28, 28, 3)
    arrays, _ = read_clip_features(store / feature_file_name(samples[0].sample_id, FAST.digest()))
    _, flows = model_inputs(arrays, flow_size=28)
    np.testing.assert_array_equal(rgb.transpose(2, 0, 1), np.rint(flows[0] * 255).astype(np.uint8))


def test_store_errors(samples: list[Sample], tmp_path: Path) -> None:
    with pytest.raises(LFDError, match="no manifest.json"):
        load_feature_set(tmp_path)
    with pytest.raises(LFDError, match="flow_norm"):
        model_inputs(
            ClipFeatures(
                np.zeros((3, 8, 8), np.uint8),
                np.zeros((1, 3, 8, 8), np.float32),
                0,
                0,
                0,
                "annotation",
                ("onset:apex",),
            ),
            flow_norm="zscore",
        )
    store = tmp_path / "store"
    prepare_dataset(samples[:1], FAST, store, progress=False)
    (store / feature_file_name(samples[0].sample_id, FAST.digest())).write_bytes(b"garbage")
    with pytest.raises(LFDError, match="corrupt feature file"):
        load_feature_set(store)
    mixed = [samples[0], replace(samples[1], protocol="casme2-3class")]
    with pytest.raises(LFDError, match="several protocols"):
        prepare_dataset(mixed, FAST, tmp_path / "mixed", progress=False)


def test_a_manifest_label_out_of_range_is_refused_on_load(samples: list[Sample], tmp_path: Path) -> None:
    """Issue 13 (noisy): it used to train a fold and fail at the summary."""
    store = tmp_path / "store"
    prepare_dataset(samples, FAST, store, progress=False)
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["samples"][1]["label"] = 7
    (store / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(
        LFDError, match=r"manifest.json: sample 2 \(.*\): label 7 is not a class index of 5 classes"
    ):
        load_feature_set(store)


def test_an_empty_store_file_is_one_clear_error_on_load(samples: list[Sample], tmp_path: Path) -> None:
    store = tmp_path / "store"
    prepare_dataset(samples, FAST, store, progress=False)
    (store / feature_file_name(samples[0].sample_id, FAST.digest())).write_bytes(b"")
    with pytest.raises(LFDError, match="corrupt feature file .*rerun `lfd-tcmen prepare`"):
        load_feature_set(store)
