"""MMEW's layout: ``MMEW/Micro_Expression/happiness/S01-01-001/1.jpg`` and a CASME II-like sheet.

A clip is ``<subject>-<emotion number>-<sample number>`` (S03-04-002), its folder holds frames
1..n (onset 1), and as in the release, clips labelled "others" sit in a folder named
"repression". The sheet (MMEW_Micro_Exp.xlsx's columns) has Subject, Filename, OnsetFrame,
ApexFrame, OffsetFrame, Action Units, Estimated Emotion and remarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lfd_tcmen.synth.clips import Motion
from lfd_tcmen.synth.layout import (
    Layout,
    Placement,
    RenderedClip,
    Sheet,
    number_or_text,
    register_layout,
    write_workbook,
)

SHEET_NAME = "MMEW_Micro_Exp-synthetic.xlsx"
FRAMES_DIR = Path("MMEW") / "Micro_Expression"
HEADER = (
    "Subject",
    "Filename",
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    "Action Units",
    "Estimated Emotion",
    "remarks",
)
# MMEW's seven labels, numbered in clip names in this order (S01-01-001 is a happiness clip)
LABELS = ("happiness", "surprise", "anger", "disgust", "fear", "sadness", "others")
FOLDERS = {"others": "repression"}  # the release files "others" under this folder name


@register_layout("mmew")
class Mmew(Layout):
    dataset = "mmew"
    words = {"happiness": "happiness", "disgust": "disgust", "repression": "others", "surprise": "surprise"}
    description = "MMEW: MMEW/Micro_Expression/happiness/S01-01-001/1.jpg, coding sheet"

    def root(self, out: Path) -> Path:
        return out / FRAMES_DIR.parent

    def place(
        self,
        rng: np.random.Generator,
        out: Path,
        subject: int,
        recording: tuple[str, tuple[int, ...]],
        motion: Motion,
    ) -> Placement:
        (c,) = recording[1]
        (expression,) = motion.expressions
        label = self.words[expression.emotion]
        name = f"S{subject + 1:02d}"
        clip = f"{name}-{LABELS.index(label) + 1:02d}-{c + 1:03d}"
        folder = out / FRAMES_DIR / FOLDERS.get(label, label) / clip
        return Placement(name, folder, "{}.jpg", 1, ((clip, clip),))

    def write_annotations(self, out: Path, clips: Sequence[RenderedClip]) -> tuple[Path, ...]:
        rows = [
            (
                c.subject,
                c.filename,
                c.onset,
                c.apex,
                c.offset,
                number_or_text(c.action_units),
                c.emotion,
                None,
            )
            for c in clips
        ]
        return (write_workbook(out / SHEET_NAME, [Sheet("Sheet1", [HEADER, *rows])]),)
