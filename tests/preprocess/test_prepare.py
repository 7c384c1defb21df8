"""``prepare_store``, the library call behind ``lfd-tcmen prepare``: a dataset's files -> a store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lfd_tcmen import DatasetFiles, ExecutorOptions, LFDError, prepare_store
from lfd_tcmen.core.files import json_text
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.prepare import prepare_json
from lfd_tcmen.synth.render import render_dataset

FAST = PreprocessConfig(face_size=64, flow_method="dis")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> DatasetFiles:
    out = tmp_path_factory.mktemp("synthetic")
    sheet = render_dataset(out, subjects=2, clips_per_subject=2, frames_per_clip=8, progress=False)
    return DatasetFiles("casme2", (sheet,), out / "CASME2_RAW_selected", "casme2-5class")


def test_a_dataset_becomes_a_store_and_a_rerun_keeps_it(
    files: DatasetFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, log = prepare_store(files, tmp_path / "store", FAST, progress=False)
    assert (report.total, report.computed, report.reused, report.skipped) == (4, 4, 0, [])
    printed = capsys.readouterr().out
    assert f"prepared 4/4 samples in {tmp_path / 'store'}" in printed
    assert f"manifest: {report.manifest}" in printed
    again, _ = prepare_store(
        files, tmp_path / "store", FAST, executor=ExecutorOptions(workers=2), progress=False, text=False
    )
    assert (again.computed, again.reused) == (0, 4)
    assert capsys.readouterr().out == ""  # text=False: the caller prints (prepare --json)
    data = json.loads(json_text(prepare_json(again, log)))
    assert (data["prepared"], data["reused"], data["corrections"]) == (4, 4, log.to_dict())


def test_no_sample_under_the_labels_is_one_error_naming_the_file(files: DatasetFiles, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Action Units,Estimated Emotion\n")
    with pytest.raises(LFDError):
        prepare_store(
            DatasetFiles("casme2", (empty,), files.root, "casme2-5class"), tmp_path / "s", FAST, text=False
        )
