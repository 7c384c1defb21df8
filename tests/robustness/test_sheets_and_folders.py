"""Sheets, frame folders and videos a user was sent (issue 35): ``prepare``, ``data`` and ``predict``.

What such a file says must not reach outside the frames root, read as blank what it does not
hold, split one person into several subjects, keep a store file computed from another
annotation, or use a frame the folder does not number as a frame. Each ``prepare`` case works on
a private copy of the session's set and store (``inputs.dataset_copy``).
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest

from lfd_tcmen.cli import main
from lfd_tcmen.preprocess.clip_file import read_clip_features
from robustness.cases import Case, Env, Given, check, params
from robustness.inputs import SHEET_HEADER, Dataset, clip_frames, dataset_copy, sample_key, video_file


def _rows(env: Env, row: int = 0, **cells: str) -> list[tuple[str, ...]]:
    """The synthetic sheet's rows, row ``row``'s named cells replaced (filename, onset, apex)."""
    columns = {"filename": 1, "onset": 2, "apex": 3, "offset": 4}
    rows = [list(r) for r in env.inputs.rows]
    for name, value in cells.items():
        rows[row][columns[name]] = value
    return [tuple(r) for r in rows]


def _argv(env: Env, data: Dataset) -> list[str]:
    return data.argv(env.inputs.preprocess)


def _manifest(data: Dataset) -> list[dict]:
    return json.loads((data.store / "manifest.json").read_text())["samples"]


def _all_ok(data: Dataset, count: int) -> Callable[[], None]:
    """After the run: ``count`` samples in the manifest, each prepared and readable."""

    def verify() -> None:
        entries = _manifest(data)
        assert len(entries) == count and all(e["status"] == "ok" for e in entries), entries
        assert len({e["file"] for e in entries}) == count, "two samples share a store file"
        for entry in entries:
            read_clip_features(data.store / entry["file"])

    return verify


# ----------------------------------------------------------------------------- item 2: outside --root
def _outside(env: Env, filename: Callable[[Path], str]) -> Given:
    """Clip 0's frames copied to ``tmp/outside``; row 2 of the sheet names them there."""
    outside = env.tmp / "outside" / env.inputs.rows[0][1]
    shutil.copytree(env.inputs.clip(0), outside)
    data = dataset_copy(env.inputs, env.tmp / "set", _rows(env, filename=filename(outside)))
    verify = _all_ok(data, len(env.inputs.rows) - 1)

    def nothing_outside() -> None:
        verify()
        assert not any("outside" in e["sample_id"] for e in _manifest(data))

    return Given(_argv(env, data), (str(data.sheet), "row 2"), nothing_outside)


def filename_climbs_out(env: Env) -> Given:
    return _outside(env, lambda outside: f"../../../outside/{outside.name}")


def filename_absolute(env: Env) -> Given:
    return _outside(env, str)


# ----------------------------------------------------------------------------- item 3: formulas
def apex_formula_without_value(env: Env) -> Given:
    """An .xlsx whose row-2 ApexFrame is a formula no program calculated (openpyxl writes none)."""
    data = dataset_copy(env.inputs, env.tmp)
    sheet = env.tmp / "sheet.xlsx"
    book = openpyxl.Workbook()
    book.active.append(SHEET_HEADER.split(","))
    for row in env.inputs.rows:
        book.active.append([int(c) if c.isdigit() else c for c in row])
    book.active["D2"] = "=C2+2"
    book.save(sheet)
    argv = _argv(env, data)
    argv[argv.index(str(data.sheet))] = str(sheet)
    return Given(argv, (str(sheet), "row 2", "D2", "=C2+2"))


# ----------------------------------------------------------------------------- item 4: one person
def casme3_subject_spellings(env: Env) -> Given:
    sheet = env.tmp / "casme3.csv"
    sheet.write_text(
        "Subject,Filename,Onset,Apex,Offset,emotion\n"
        "spNO.1,a,10,12,15,happy\nSPNO.1,b,20,22,25,sad\nspno.1 ,c,30,32,35,happy\nspNO.2,a,10,12,15,happy\n"
    )
    return Given(["data", "summary", "--dataset", "casme3", "--annotations", str(sheet)])


# ----------------------------------------------------------------------------- item 5: stale store files
def annotation_corrected(env: Env) -> Given:
    """Onset and apex of row 2 corrected in the sheet after the store was made."""
    onset, apex = (int(c) for c in env.inputs.rows[0][2:4])
    data = dataset_copy(env.inputs, env.tmp, _rows(env, onset=str(onset + 1), apex=str(apex + 1)))
    entry = data.entry(sample_key(env.inputs))
    verify = _all_ok(data, len(env.inputs.rows))

    def recomputed() -> None:
        verify()
        _, meta = read_clip_features(entry)
        assert (meta["onset"], meta["apex"]) == (onset + 1, apex + 1)

    return Given(
        _argv(env, data),
        (str(entry), f"onset {onset} -> {onset + 1}", f"apex {apex} -> {apex + 1}"),
        recomputed,
    )


def entry_deflate_damaged(env: Env) -> Given:
    """16 bytes flipped at the start of faces.npy's deflate stream: zlib, not the CRC, notices."""
    data = dataset_copy(env.inputs, env.tmp)
    entry = data.entry(sample_key(env.inputs))
    with zipfile.ZipFile(entry) as zf:
        info = zf.getinfo("faces.npy")
    raw = bytearray(entry.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start : start + 16] = bytes(b ^ 0xFF for b in raw[start : start + 16])
    entry.write_bytes(bytes(raw))
    return Given(_argv(env, data), (str(entry),), _all_ok(data, len(env.inputs.rows)))


def ids_differing_by_a_space(env: Env) -> Given:  # issue 35 item 15: one store file for both
    """Row 2's clip also given as "<clip with a space>" (its own folder, the same frames)."""
    subject, filename = env.inputs.rows[0][:2]
    spaced = filename.replace("_", " ")
    data = dataset_copy(env.inputs, env.tmp, [*env.inputs.rows, (subject, spaced, *env.inputs.rows[0][2:])])
    shutil.copytree(data.clip(env.inputs), data.clip(env.inputs).with_name(spaced))
    return Given(_argv(env, data), (), _all_ok(data, len(env.inputs.rows) + 1))


# ----------------------------------------------------------------------------- item 6: frames
def _recomputed_as_before(env: Env, data: Dataset) -> Callable[[], None]:
    """Clip 0's store file, removed before the run, is rewritten byte for byte as it was."""
    name = data.entry(sample_key(env.inputs)).name
    before = (env.inputs.store / name).read_bytes()
    (data.store / name).unlink()

    def verify() -> None:
        assert (data.store / name).read_bytes() == before, "clip 0 was not computed from its own frames"

    return verify


def frame_corrupt_with_end_marker(env: Env) -> Given:
    """Clip 0's apex JPEG cut in half, its end-of-image marker put back: libjpeg decodes a grey
    half and says so on stderr without naming the file."""
    data = dataset_copy(env.inputs, env.tmp)
    data.entry(sample_key(env.inputs)).unlink()
    frame = data.frame(env.inputs, 0, "apex")
    raw = frame.read_bytes()
    frame.write_bytes(raw[: len(raw) // 2] + b"\xff\xd9")

    def skipped() -> None:
        entries = {e["sample_id"]: e["status"] for e in _manifest(data)}
        assert entries.pop(f"casme2/{sample_key(env.inputs).replace('__', '/')}") == "skipped"
        assert set(entries.values()) == {"ok"}

    return Given(_argv(env, data), (str(frame),), skipped)


def stray_copy_of_a_frame(env: Env) -> Given:
    """ "Copy of img<apex>.jpg" (a black image) beside clip 0's frames: not frame <apex>."""
    data = dataset_copy(env.inputs, env.tmp)
    apex = data.frame(env.inputs, 0, "apex")
    stray = apex.with_name(f"Copy of {apex.name}")
    ok, black = cv2.imencode(".jpg", np.zeros((64, 64), np.uint8))
    stray.write_bytes(black.tobytes())
    return Given(_argv(env, data), (str(apex.parent), stray.name), _recomputed_as_before(env, data))


# ----------------------------------------------------------------------------- item 15: synth, video
def synth_into_a_dataset(env: Env) -> Given:
    out = env.tmp / "synth"
    argv = ["data", "synth", "--out", str(out), "--clips-per-subject", "1", "--subjects"]
    assert main([*argv, "2"]) == 0
    sheets = sorted(out.glob("*.xlsx"))
    before = {p: p.read_bytes() for p in sheets}

    def untouched() -> None:
        assert {p: p.read_bytes() for p in sheets} == before

    return Given([*argv, "1"], (str(out),), untouched)


def video_of_two_frames(env: Env) -> Given:
    path = video_file(env.tmp / "clip.mp4", clip_frames(env.inputs)[:2])
    return Given(["predict", str(path), "--checkpoint", str(env.inputs.checkpoint)], (str(path),))


CASES = [
    Case("filename-climbs-out-of-root", filename_climbs_out, 0, "lies outside the frames root"),
    Case("filename-absolute-path", filename_absolute, 0, "lies outside the frames root"),
    Case("apex-formula-without-value", apex_formula_without_value, 2, "holds a formula"),
    Case("casme3-subject-spellings", casme3_subject_spellings, 0, "subjects: 2", level="ok"),
    Case("annotation-corrected", annotation_corrected, 0, "its annotation changed"),
    Case("store-entry-deflate-damaged", entry_deflate_damaged, 0, "failed verification"),
    Case("ids-differing-by-a-space", ids_differing_by_a_space, 0, "prepared 7/7", level="ok"),
    Case("frame-corrupt-with-end-marker", frame_corrupt_with_end_marker, 0, "Corrupt JPEG data"),
    Case("stray-copy-of-a-frame", stray_copy_of_a_frame, 0, "not named like its frames"),
    Case("synth-into-a-dataset", synth_into_a_dataset, 2, "already holds a dataset"),
    Case("video-of-two-frames", video_of_two_frames, 2, "only 2 frame(s) read"),
]


@pytest.mark.parametrize("case", params(*CASES))
def test_sheets_and_folders(case: Case, env: Env, capfd: pytest.CaptureFixture[str]) -> None:
    assert case.fragment in check(case, env, capfd)
