"""``lfd-tcmen prepare``: damaged annotations, frames, clip folders, configs and stores.

A damaged clip is skipped with one warning naming its file, the rest is prepared (exit 0); a
damaged store file is recomputed with one warning; what stops the run is one error line.
Each case prepares a private copy of the session's store, so only the damaged sample is computed.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lfd_tcmen.core.locks import exclusive
from lfd_tcmen.preprocess.clip_file import read_clip_features
from robustness.cases import (
    Case,
    Env,
    Given,
    a_file,
    check,
    empty,
    not_utf8,
    params,
    read_only,
    replace_with_folder,
    truncate,
    unreadable,
)
from robustness.inputs import Dataset, dataset_copy, sample_key


def _copy(env: Env, rows: list[tuple[str, ...]] | None = None) -> Dataset:
    return dataset_copy(env.inputs, env.tmp, rows)


def _edited(env: Env, row: int, column: int, value: str) -> list[tuple[str, ...]]:
    rows = [list(r) for r in env.inputs.rows]
    rows[row][column] = value
    return [tuple(r) for r in rows]


def _damaged_clip(env: Env) -> Dataset:
    """A copy whose clip 0 is not in the store: the next prepare computes (and so reads) it."""
    data = _copy(env)
    data.entry(sample_key(env.inputs)).unlink()
    return data


def _argv(env: Env, data: Dataset) -> list[str]:
    return data.argv(env.inputs.preprocess)


def _statuses(data: Dataset, skipped: int) -> Callable[[], None]:
    """After the run: every sample but ``skipped`` is in the store and readable."""

    def verify() -> None:
        entries = json.loads((data.store / "manifest.json").read_text())["samples"]
        ok = [e for e in entries if e["status"] == "ok"]
        assert len(entries) - len(ok) == skipped, entries
        for entry in ok:
            read_clip_features(data.store / entry["file"])

    return verify


def _skipped(env: Env, data: Dataset, path: Path) -> Given:
    """A run that skips the one damaged sample, naming ``path``, and prepares the others."""
    return Given(_argv(env, data), (str(path),), _statuses(data, 1))


def _redone(env: Env, data: Dataset, entry: Path) -> Given:
    """A run that recomputes the damaged store file ``entry``: afterwards it reads and verifies."""
    return Given(_argv(env, data), (str(entry),), _statuses(data, 0))


# ----------------------------------------------------------------------------- what stops the run
def annotations_missing(env: Env) -> Given:
    data = _copy(env)
    data.sheet.unlink()
    return Given(_argv(env, data), (str(data.sheet),))


def annotations_empty(env: Env) -> Given:
    data = _copy(env)
    empty(data.sheet)
    return Given(_argv(env, data), (str(data.sheet),))


def annotations_duplicated_row(env: Env) -> Given:
    data = _copy(env, [*env.inputs.rows, env.inputs.rows[2]])
    return Given(_argv(env, data), (str(data.sheet), f"row {len(env.inputs.rows) + 2}", "row 4"))


def root_missing(env: Env) -> Given:
    data = _copy(env)
    replace_with_folder(data.frames).rmdir()
    return Given(_argv(env, data), (str(data.frames),))


def config_missing(env: Env) -> Given:
    data = _copy(env)
    config = env.tmp / "absent.yaml"
    return Given(data.argv(config), (str(config),))


def config_not_utf8(env: Env) -> Given:  # issue 13, noisy: UnicodeDecodeError traceback
    data = _copy(env)
    config = not_utf8(env.tmp / "pre.yaml", "face_size: 64\nflow_method: dis\n# caf\xe9\n")
    return Given(data.argv(config), (str(config),))


def config_folder(env: Env) -> Given:
    data = _copy(env)
    config = replace_with_folder(env.tmp / "pre.yaml")
    return Given(data.argv(config), (str(config),))


def config_unknown_key(env: Env) -> Given:
    data = _copy(env)
    config = env.tmp / "pre.yaml"
    config.write_text("face_sise: 64\n")
    return Given(data.argv(config), (str(config),))


def config_out_of_range(env: Env) -> Given:
    data = _copy(env)
    config = env.tmp / "pre.yaml"
    config.write_text("face_size: -64\nflow_method: dis\n")
    return Given(data.argv(config), (str(config),))


def config_a_list(env: Env) -> Given:
    data = _copy(env)
    config = env.tmp / "pre.yaml"
    config.write_text("- face_size\n- 64\n")
    return Given(data.argv(config), (str(config),))


def out_is_a_file(env: Env) -> Given:
    data = _copy(env)
    out = a_file(env)
    return Given(data.argv(env.inputs.preprocess, out), (str(out),))


def export_into_a_file(env: Env) -> Given:
    data = _copy(env)
    target = a_file(env)
    return Given([*_argv(env, data), "--export-uvs28", str(target)], (str(target),))


def workers_zero(env: Env) -> Given:
    return Given([*_argv(env, _copy(env)), "--workers", "0"])


def out_unreadable(env: Env) -> Given:
    data = _copy(env)
    unreadable(env, data.store)
    return Given(_argv(env, data), (str(data.store),))


def store_locked(env: Env) -> Given:  # issue 13.1: a second writer is refused, naming the holder
    data = _copy(env)
    env.stack.enter_context(exclusive(data.store, "feature store"))
    return Given(_argv(env, data), (str(data.store),))


# ----------------------------------------------------------------------------- a clip is skipped
def frame_missing(env: Env) -> Given:
    data = _damaged_clip(env)
    frame = data.frame(env.inputs)
    frame.unlink()
    return _skipped(env, data, frame)


def frame_empty(env: Env) -> Given:
    data = _damaged_clip(env)
    frame = empty(data.frame(env.inputs))
    return _skipped(env, data, frame)


def frame_truncated(env: Env) -> Given:
    data = _damaged_clip(env)
    frame = truncate(data.frame(env.inputs))
    return _skipped(env, data, frame)


def frame_text_file(env: Env) -> Given:
    data = _damaged_clip(env)
    frame = data.frame(env.inputs)
    frame.write_text("not an image\n" * 20)
    return _skipped(env, data, frame)


def frame_folder(env: Env) -> Given:
    data = _damaged_clip(env)
    frame = replace_with_folder(data.frame(env.inputs))
    return _skipped(env, data, frame)


def frame_other_size(env: Env) -> Given:
    import cv2

    data = _damaged_clip(env)
    frame = data.frame(env.inputs)
    cv2.imwrite(str(frame), np.zeros((40, 50), np.uint8))
    return _skipped(env, data, frame)


def clip_of_two_frames(env: Env) -> Given:  # issue 13, noisy: was "no face found"
    onset = env.inputs.rows[0][2]
    rows = _edited(env, 0, 4, str(int(onset) + 1))
    rows[0] = (*rows[0][:3], onset, *rows[0][4:])  # apex = onset
    data = _copy(env, rows)
    data.entry(sample_key(env.inputs)).unlink()
    return _skipped(env, data, data.clip(env.inputs))


def clip_folder_missing(env: Env) -> Given:  # issue 13, noisy: was "165.jpg: frame not found"
    data = _copy(env, _edited(env, 0, 1, "EP99_99"))
    folder = data.clip(env.inputs).parent / "EP99_99"
    return _skipped(env, data, folder)


def landmarks_truncated(env: Env) -> Given:
    data = _damaged_clip(env)
    marks = truncate(data.clip(env.inputs) / "landmarks.npy")
    return _skipped(env, data, marks)


def landmarks_wrong_shape(env: Env) -> Given:
    data = _damaged_clip(env)
    marks = data.clip(env.inputs) / "landmarks.npy"
    np.save(marks, np.zeros((8, 5, 2), np.float32))
    return _skipped(env, data, marks)


def apex_outside_interval(env: Env) -> Given:  # issue 13, noisy: raw UserWarning lines
    offset = env.inputs.rows[1][4]
    data = _copy(env, _edited(env, 1, 3, str(int(offset) + 9)))
    data.entry(sample_key(env.inputs, 1)).unlink()  # stored with the old apex: else also recomputed
    return Given(_argv(env, data), (str(data.sheet), "row 3"))


def offset_before_onset(env: Env) -> Given:
    onset = env.inputs.rows[1][2]
    data = _copy(env, _edited(env, 1, 4, str(int(onset) - 1)))
    return Given(_argv(env, data), (str(data.sheet), "row 3"))


# ----------------------------------------------------------------------------- a store file is redone
def entry_zero_bytes(env: Env) -> Given:  # issue 13, noisy: EOFError traceback
    data = _copy(env)
    entry = empty(data.entry(sample_key(env.inputs)))
    return _redone(env, data, entry)


def entry_flipped_bytes(env: Env) -> Given:  # issue 13.9: resume read only the meta
    data = _copy(env)
    entry = data.entry(sample_key(env.inputs))
    with zipfile.ZipFile(entry) as zf:  # flip bytes inside faces.npy's compressed data
        info = zf.getinfo("faces.npy")
    raw = bytearray(entry.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size // 2
    raw[start : start + 16] = bytes(b ^ 0xFF for b in raw[start : start + 16])
    entry.write_bytes(bytes(raw))
    return _redone(env, data, entry)


def entry_object_array(env: Env) -> Given:  # issue 13.9: an object array (a pickle) in the npz
    data = _copy(env)
    entry = data.entry(sample_key(env.inputs))
    with np.load(entry, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["faces"] = np.array([{"not": "faces"}], dtype=object)
    with entry.open("wb") as fh:
        np.savez(fh, **arrays)
    return _redone(env, data, entry)


def entry_wrong_shape(env: Env) -> Given:
    data = _copy(env)
    entry = data.entry(sample_key(env.inputs))
    with np.load(entry, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["faces"] = arrays["faces"][:2]
    with entry.open("wb") as fh:
        np.savez(fh, **arrays)
    return _redone(env, data, entry)


def entry_truncated(env: Env) -> Given:
    data = _copy(env)
    entry = truncate(data.entry(sample_key(env.inputs)))
    return _redone(env, data, entry)


def complete_store_read_only(env: Env) -> Given:  # issue 13, noisy: still rewrote manifest.json
    data = _copy(env)
    read_only(env, data.store)
    return Given(_argv(env, data))


CASES = [
    Case("annotations-missing", annotations_missing, 2, "annotation file not found"),
    Case("annotations-empty", annotations_empty, 2, "the file is empty"),
    Case("annotations-duplicated-row", annotations_duplicated_row, 2, "already given"),
    Case("root-missing", root_missing, 2, "frames folder not found"),
    Case("config-missing", config_missing, 2, "config file not found"),
    Case("config-not-utf8", config_not_utf8, 2, "not UTF-8 text"),
    Case("config-folder", config_folder, 2, "Is a directory"),
    Case("config-unknown-key", config_unknown_key, 2, "face_sise"),
    Case("config-out-of-range", config_out_of_range, 2, "face_size"),
    Case("config-a-list", config_a_list, 2, "mapping"),
    Case("out-is-a-file", out_is_a_file, 2, "File exists"),
    Case("export-uvs28-into-a-file", export_into_a_file, 2, "File exists"),
    Case("workers-zero", workers_zero, 2, "--workers must be >= 1, got 0"),
    Case("out-unreadable", out_unreadable, 2, "Permission denied", needs_permissions=True),
    Case("store-locked", store_locked, 2, "in use by another lfd-tcmen process (PID"),
    Case("frame-missing", frame_missing, 0, "frame not found"),
    Case("frame-empty", frame_empty, 0, "frame file is empty"),
    Case("frame-truncated", frame_truncated, 0, "truncated JPEG"),
    Case("frame-text-file", frame_text_file, 0, "corrupt image"),
    Case("frame-is-a-folder", frame_folder, 0, "Is a directory"),
    Case("frame-other-size", frame_other_size, 0, "frame size 50x40 differs"),
    Case("clip-of-two-frames", clip_of_two_frames, 0, "fewer than 3 frames"),
    Case("clip-folder-missing", clip_folder_missing, 0, "clip folder not found"),
    Case("landmarks-truncated", landmarks_truncated, 0, "cannot read landmarks"),
    Case("landmarks-wrong-shape", landmarks_wrong_shape, 0, "landmarks must be (T, 68, 2)"),
    Case("apex-outside-interval", apex_outside_interval, 0, "apex treated as missing"),
    Case("offset-before-onset", offset_before_onset, 0, "sample skipped"),
    Case("store-entry-zero-bytes", entry_zero_bytes, 0, "failed verification"),
    Case("store-entry-flipped-bytes", entry_flipped_bytes, 0, "failed verification"),
    Case("store-entry-object-array", entry_object_array, 0, "failed verification"),
    Case("store-entry-wrong-shape", entry_wrong_shape, 0, "failed verification"),
    Case("store-entry-truncated", entry_truncated, 0, "failed verification"),
    Case(
        "complete-store-read-only",
        complete_store_read_only,
        0,
        "6 already there",
        level="ok",
        needs_permissions=True,
    ),
]


@pytest.mark.parametrize("case", params(*CASES))
def test_prepare(case: Case, env: Env, capfd: pytest.CaptureFixture[str]) -> None:
    assert case.fragment in check(case, env, capfd)
