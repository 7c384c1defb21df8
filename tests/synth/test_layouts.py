"""The synthetic set in every dataset's layout: each loads through its dataset's registered loader
exactly as the renderer reports it, and CASME II's rendering is byte for byte what it was."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from lfd_tcmen.cli import main
from lfd_tcmen.data.datasets import dataset_names, load_samples
from lfd_tcmen.data.loaders.common import numbered_images
from lfd_tcmen.data.protocols import get_protocol
from lfd_tcmen.synth.clips import EMOTIONS
from lfd_tcmen.synth.render import RenderedSet, layout_names, render_dataset, render_layout

SUBJECTS, CLIPS, FRAMES, SIZE, SEED = 3, 4, 6, 64, 5
# per layout, a protocol of its dataset that gives every rendered emotion a class
PROTOCOLS = {
    "casme2": "casme2-5class",
    "casme3": "casme3-4class",
    "casme3c": "casme3-4class",
    "dfme": "dfme-7class",
    "mmew": "mmew-7class",
    "samm": "samm-5class",
    "smic": "smic-3class",
}
# sha256 over the sorted (file, sha256) pairs of render_dataset(subjects=2, seed=3,
# clips_per_subject=2, frames_per_clip=8, size=64), rendered before the layouts were added
# (commit 144b98f); it also changes with OpenCV's JPEG encoder or openpyxl's xlsx writer
CASME2_DIGEST = "84515fe46b7e27491ea8aea97674b476ef09a38c3e29ce02c6c901aa0b564283"


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory):
    """``render(layout)``: the small set in ``layout``, rendered once per module."""
    cache: dict[str, RenderedSet] = {}

    def rendered(layout: str) -> RenderedSet:
        if layout not in cache:
            out = tmp_path_factory.mktemp(layout)
            cache[layout] = render_layout(
                layout,
                out,
                subjects=SUBJECTS,
                clips_per_subject=CLIPS,
                frames_per_clip=FRAMES,
                size=SIZE,
                seed=SEED,
                progress=False,
            )
        return cache[layout]

    return rendered


@pytest.fixture(params=layout_names())
def rendered(request: pytest.FixtureRequest, render) -> RenderedSet:
    return render(request.param)


def load_all(rendered: RenderedSet, protocol: str | None = None) -> list:
    return [
        s for a in rendered.annotations for s in load_samples(rendered.dataset, a, rendered.root, protocol)
    ]


def digest(root: Path) -> str:
    files = {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
    return hashlib.sha256(json.dumps(sorted(files.items())).encode()).hexdigest()


def test_every_issue_layout_is_registered_with_a_loader_and_a_protocol() -> None:
    assert set(layout_names()) == {"casme2", "samm", "smic", "casme3", "casme3c", "dfme", "mmew"}
    assert set(layout_names()) <= set(dataset_names()) and set(PROTOCOLS) == set(layout_names())


def test_casme2_layout_is_byte_identical_to_before(tmp_path: Path) -> None:
    sheet = render_dataset(
        tmp_path, subjects=2, seed=3, clips_per_subject=2, frames_per_clip=8, size=64, progress=False
    )
    assert sheet == tmp_path / "CASME2-coding-synthetic.xlsx"
    assert digest(tmp_path) == CASME2_DIGEST


def test_loader_reads_what_was_rendered(rendered: RenderedSet) -> None:
    samples = load_all(rendered)
    assert len(samples) == len(rendered.clips) == SUBJECTS * CLIPS
    assert len({s.subject for s in samples}) == SUBJECTS
    expected = {
        f"{rendered.dataset}/{c.subject}/{c.clip}": (
            c.emotion.lower(),
            c.onset,
            c.apex if rendered.apex_annotated else None,
            c.offset,
            c.folder,
        )
        for c in rendered.clips
    }
    loaded = {s.sample_id: (s.emotion, s.onset, s.apex, s.offset, s.frames[0].parent) for s in samples}
    assert loaded == expected
    for s in samples:
        assert s.frame_numbers == tuple(range(s.onset, s.offset + 1))
        assert all(p.is_file() for p in s.frames)
        assert s.apex_source == ("annotation" if rendered.apex_annotated else "missing")


def test_frames_and_landmarks_agree(rendered: RenderedSet) -> None:
    for folder in {c.folder for c in rendered.clips}:
        numbers = [n for n, _ in numbered_images(folder)]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # no gaps
        marks = np.load(folder / "landmarks.npy")
        assert marks.shape == (len(numbers), 68, 2) and (marks > 0).all() and (marks < SIZE).all()


def test_protocol_gives_every_clip_its_class(rendered: RenderedSet) -> None:
    name = PROTOCOLS[rendered.layout]
    samples = load_all(rendered, name)
    assert len(samples) == len(rendered.clips)
    mapping = get_protocol(name).mapping
    by_id = {f"{rendered.dataset}/{c.subject}/{c.clip}": c.emotion.lower() for c in rendered.clips}
    assert all(s.class_name == mapping[by_id[s.sample_id]] for s in samples)


def test_data_summary_reads_it(rendered: RenderedSet, capsys: pytest.CaptureFixture[str]) -> None:
    counted = 0
    for sheet in rendered.annotations:
        argv = ["data", "summary", "--dataset", rendered.dataset, "--annotations", str(sheet)]
        argv += ["--root", str(rendered.root), "--protocol", PROTOCOLS[rendered.layout], "--json"]
        assert main(argv) == 0
        counted += json.loads(capsys.readouterr().out)["n_samples"]
    assert counted == SUBJECTS * CLIPS


def test_every_layout_renders_the_same_clips(render) -> None:
    """One renderer: the same subjects and emotions in every layout; where a folder holds one
    clip, also the same action units and timing."""
    emotions = {name: [c.rendered_emotion for c in render(name).clips] for name in layout_names()}
    assert len({tuple(e) for e in emotions.values()}) == 1 and set(emotions["casme2"]) <= set(EMOTIONS)
    single = [name for name in layout_names() if name not in ("casme3", "casme3c")]
    timing = {
        name: [(c.action_units, c.apex - c.onset, c.offset - c.onset) for c in render(name).clips]
        for name in single
    }
    assert len({tuple(t) for t in timing.values()}) == 1


@pytest.mark.parametrize(
    ("layout", "real_file", "sheet", "header_row"),
    [
        ("samm", "samm/SAMM_Micro_FACS_Codes_v2.xlsx", "MICRO_ONLY", 14),
        ("casme3", "casme3/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", "label", 1),
        ("casme3c", "casme3/CAS(ME)3_part_C_ME.xlsx", "mockCrimeME", 1),
    ],
)
def test_sheet_matches_the_real_file(render, shared_data: Path, layout, real_file, sheet, header_row) -> None:
    """Same sheet names, header row and header; per column, cell types the real file has."""
    real_book = openpyxl.load_workbook(shared_data / "annotations" / real_file)
    ours_book = openpyxl.load_workbook(render(layout).annotations[0])
    assert ours_book.sheetnames == real_book.sheetnames
    real, ours = real_book[sheet], ours_book[sheet]
    assert [c.value for c in ours[header_row]] == [c.value for c in real[header_row]]
    for column, (real_col, our_col) in enumerate(
        zip(real.iter_cols(min_row=header_row + 1), ours.iter_cols(min_row=header_row + 1)), start=1
    ):
        if layout == "samm" and column == 7:
            continue  # SAMM computes Duration with a formula; ours stores its value
        real_types = {c.data_type for c in real_col if c.value is not None}
        assert {c.data_type for c in our_col if c.value is not None} <= real_types, column


def test_casme3_part_a_task_videos(render) -> None:
    rendered = render("casme3")
    per_video = Counter(c.folder for c in rendered.clips)
    assert max(per_video.values()) >= 2  # several MEs in one task video
    assert all(
        c.folder.parent.name == c.filename and c.clip == f"{c.filename}_{c.onset}" for c in rendered.clips
    )
    assert min(c.onset for c in rendered.clips) >= 100  # frame numbers far from 0
    for folder, count in per_video.items():  # still frames around the MEs
        assert len(numbered_images(folder)) > count * FRAMES
    ws = openpyxl.load_workbook(rendered.annotations[0])["label"]
    assert [c.value for c in ws[1]] == [
        "Subject",
        "Filename",
        "Onset",
        "Apex",
        "Offset",
        "AU",
        "Objective class",
        "emotion",
    ]
    assert all(isinstance(v, str) for row in ws.iter_rows(min_row=2, values_only=True) for v in row)
    assert {row[6] for row in ws.iter_rows(min_row=2, values_only=True)} <= {
        "I",
        "II",
        "III",
        "IV",
        "V",
        "VI",
        "VII",
    }


def test_casme3_part_c_recordings(render) -> None:
    rendered = render("casme3c")
    assert len({c.folder for c in rendered.clips}) == SUBJECTS  # one recording per subject
    assert all(c.folder == rendered.root / c.subject / "color" for c in rendered.clips)
    ws = openpyxl.load_workbook(rendered.annotations[0])["mockCrimeME"]
    assert [c.value for c in ws[1]] == ["sub", "count", "onset", "offset", "au", "emotion"]
    first = next(ws.iter_rows(min_row=2, values_only=True))
    assert first[:2] == (1, 1) and first[2] >= 100


def test_samm_sheet_and_frame_names(render) -> None:
    rendered = render("samm")
    ws = openpyxl.load_workbook(rendered.annotations[0])["MICRO_ONLY"]
    assert ws.cell(14, 1).value == "Subject" and ws.cell(14, 4).value == "Onset Frame"
    assert ws.cell(15, 1).value == "006" and ws.cell(15, 1).number_format == "@"
    assert {ws.cell(r, 10).value for r in range(15, ws.max_row + 1)} <= {
        "Happiness",
        "Anger",
        "Contempt",
        "Surprise",
    }
    c = rendered.clips[0]
    assert (c.folder / f"{c.subject}_{c.onset:05d}.jpg").is_file() and c.onset >= 1000


def test_smic_labels_in_the_path(render) -> None:
    rendered = render("smic")
    assert rendered.annotations == (rendered.root,) and rendered.root.parts[-2:] == ("SMIC", "HS")
    for c in rendered.clips:
        assert c.folder == rendered.root / c.subject / "micro" / c.emotion / c.clip
        assert (c.folder / f"image{c.onset:06d}.bmp").is_file()
    assert not list(rendered.root.parent.parent.glob("*.xlsx"))


def test_dfme_parts_and_their_sheets(render) -> None:
    rendered = render("dfme")
    parts = {c.folder.parents[2].name for c in rendered.clips}
    assert parts == {
        "USTC_MEv4_partA_sub0001_sub0015",
        "USTC_MEv4_partB_sub0016_sub0110",
        "USTC_MEv4_partC_sub0111_sub0300",
    }
    assert [p.name for p in rendered.annotations] == [
        f"DFME_data_coding_part{p}-synthetic.xlsx" for p in "ABC"
    ]
    ws = openpyxl.load_workbook(rendered.annotations[1]).active
    assert [c.value for c in ws[1]][-1] == "fps" and ws.cell(2, 1).value == "sub0016"
    assert all(str(ws.cell(r, 6).value).startswith(("AU", "LAU", "RAU")) for r in range(2, ws.max_row + 1))


def test_mmew_others_sit_under_repression(render) -> None:
    rendered = render("mmew")
    for c in rendered.clips:
        folder_name = "repression" if c.emotion == "others" else c.emotion
        assert c.folder == rendered.root / "Micro_Expression" / folder_name / c.clip
        assert c.clip.startswith(f"{c.subject}-") and c.onset == 1


def test_synth_command_writes_a_layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["data", "synth", "--layout", "smic", "--out", str(tmp_path), "--subjects", "1"]
    assert main([*argv, "--clips-per-subject", "2", "--size", "64"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(tmp_path / "SMIC" / "HS")
    assert (
        "lfd-tcmen: note: read it with: lfd-tcmen data summary --dataset smic --annotations" in captured.err
    )
    assert len(load_samples("smic", tmp_path / "SMIC" / "HS")) == 2
