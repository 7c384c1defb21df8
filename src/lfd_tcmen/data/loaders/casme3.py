"""CAS(ME)^3 (Li et al., IEEE TPAMI 2023), Part A and Part C.

Part A ("casme3"): 860 labelled micro-expressions in 13 task videos ("a".."m") per subject,
30 fps. Annotation files, any of:
- ``cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx`` (sheet "label": Subject, Filename, Onset, Apex,
  Offset, AU, Objective class, emotion; the current labels);
- ``cas(me)3_part_A_ME_label_JpgIndex_v1.xls`` and ``CAS(ME)3_part_A_v1.xls`` (sheet "Sheet1",
  which has an "Expression type" column: only "Micro-expression" rows are kept);
- ``cas(me)3_part_A_edited_htnet.csv`` (a peer's cleaned export, same columns plus label ids).
Emotions are written "happy", "sad", "others" and sometimes "Others". One task video holds
several MEs, so the clip id is ``<task>_<onset>`` (e.g. "a_355").

Part C ("casme3c"): ``CAS(ME)3_part_C_ME.xlsx`` (sheet "mockCrimeME": sub, count, onset,
offset, au, emotion), 165 MEs of 30 subjects, no apex, emotions already coarse (negative,
positive, surprise, others). Clip id is the ``count`` column.

Frames: Part A ``root/spNO.1/a/color/355.jpg`` (``root`` may also be the folder holding
``part_A``), the whole task video, of which onset..offset are taken; Part C
``root/01/1/color/<n>.jpg`` (one folder per ME, the layout of the MEB toolkit) or
``root/01/color/<n>.jpg`` (the whole recording).
"""

from __future__ import annotations

from pathlib import Path

from lfd_tcmen.data.loaders.common import (
    ACTION_UNITS,
    EMOTION,
    OFFSET,
    ONSET,
    SUBJECT,
    find_dir,
    first_existing,
    read_coding_sheet,
    samples_from_table,
)
from lfd_tcmen.data.record import Sample
from lfd_tcmen.data.registry import register_loader
from lfd_tcmen.data.subjects import casme3_subject, casme3c_subject
from lfd_tcmen.data.tabular import cell_text, read_table

EXPRESSION_TYPE = ("Expression type", "Expression_type", "type")


def part_a_folder(root: Path, subject: str, filename: str, emotion: str) -> Path:
    candidates = []
    for base in (root, root / "part_A", root / "Part_A"):
        subject_dir = find_dir(base, subject)
        candidates.append(find_dir(subject_dir, filename) / "color")
    return first_existing(candidates)


def part_c_folder(root: Path, subject: str, count: str, emotion: str) -> Path:
    candidates = []
    for base in (root, root / "part_C", root / "Part_C"):
        candidates += [base / subject / count / "color", base / subject / "color"]
    return first_existing(candidates)


@register_loader("casme3")
def load_casme3(annotations: Path, root: Path | None) -> list[Sample]:
    """CAS(ME)^3 Part A micro-expressions (any of the authors' label files, or the HTNet csv)."""
    table = read_coding_sheet(annotations, type=EXPRESSION_TYPE)

    def is_micro(cells: tuple[object, ...]) -> bool:
        kind = cell_text(table.get(cells, "type")).lower()
        return not kind or "micro" in kind

    return samples_from_table(
        table,
        "casme3",
        root,
        part_a_folder,
        subject_id=casme3_subject,
        clip_id=lambda filename, onset: f"{filename}_{onset}",
        keep_row=is_micro,
    )


@register_loader("casme3c")
def load_casme3_part_c(annotations: Path, root: Path | None) -> list[Sample]:
    """CAS(ME)^3 Part C (mock crime) micro-expressions; no apex is annotated."""
    table = read_table(
        annotations,
        required={
            "subject": SUBJECT,
            "clip": ("count",),
            "onset": ONSET,
            "offset": OFFSET,
            "emotion": EMOTION,
        },
        optional={"aus": ACTION_UNITS},
    )
    return samples_from_table(table, "casme3c", root, part_c_folder, subject_id=casme3c_subject)
