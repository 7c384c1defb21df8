"""CASME II's layout: ``CASME2_RAW_selected/sub01/EP02_01f/img46.jpg`` and its coding sheet.

One folder per clip holding exactly the frames onset..offset (numbered from an onset in 1..199);
the sheet is CASME2-coding-20190701.xlsx's: "Sheet1" (plus empty Sheet2, Sheet3), its header
with two blank columns, subjects stored as text ("01"), AUs as 12 or "4+7", objective classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lfd_tcmen.synth.clips import EMOTIONS, Motion
from lfd_tcmen.synth.layout import (
    Layout,
    Placement,
    RenderedClip,
    Sheet,
    number_or_text,
    objective_class,
    register_layout,
    write_workbook,
)

SHEET_NAME = "CASME2-coding-synthetic.xlsx"
FRAMES_DIR = "CASME2_RAW_selected"
# the header row of CASME II's own coding sheet (CASME2-coding-20190701.xlsx)
HEADER = (
    "Subject",
    "Filename",
    None,
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    None,
    "Action Units",
    "Estimated Emotion",
    "Objective Classes",
)


@register_layout("casme2")
class Casme2(Layout):
    dataset = "casme2"
    words = {e: e for e in EMOTIONS}  # the renderer's emotions are CASME II's
    description = "CASME II: CASME2_RAW_selected/sub01/EP02_01f/img46.jpg, coding sheet"

    def root(self, out: Path) -> Path:
        return out / FRAMES_DIR

    def place(
        self,
        rng: np.random.Generator,
        out: Path,
        subject: int,
        recording: tuple[str, tuple[int, ...]],
        motion: Motion,
    ) -> Placement:
        (c,) = recording[1]
        onset = int(rng.integers(1, 200))
        clip = f"EP{int(rng.integers(1, 20)):02d}_{c + 1:02d}{'f' if rng.random() < 0.4 else ''}"
        name = f"sub{subject + 1:02d}"
        return Placement(name, self.root(out) / name / clip, "img{}.jpg", onset, ((clip, clip),))

    def write_annotations(self, out: Path, clips: Sequence[RenderedClip]) -> tuple[Path, ...]:
        rows = [
            (
                f"{c.subject_index + 1:02d}",
                c.filename,
                None,
                c.onset,
                c.apex,
                c.offset,
                None,
                number_or_text(c.action_units),
                c.emotion,
                objective_class(c.action_units),
            )
            for c in clips
        ]
        sheets = [Sheet("Sheet1", [HEADER, *rows], text_columns=(1,)), Sheet("Sheet2"), Sheet("Sheet3")]
        return (write_workbook(out / SHEET_NAME, sheets),)
