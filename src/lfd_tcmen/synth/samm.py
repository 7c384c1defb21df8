"""SAMM's layout: ``SAMM/006/006_1_2/006_05562.jpg`` and SAMM_Micro_FACS_Codes_v2.xlsx's sheet.

Subjects are "006", "007", ...; a clip is ``<subject>_<inducement code>_<n>``; its folder holds
the frames onset..offset, named ``<subject>_<frame number, 5 digits>`` and numbered as in the
long recording the clip was cut from (1000..8999 here). The sheet "MICRO_ONLY" opens with a
title and notes; its header is on row 14, subjects are text, emotions capitalised ("Anger").
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
    objective_class,
    register_layout,
    write_workbook,
)

SHEET_NAME = "SAMM_Micro_FACS_Codes-synthetic.xlsx"
FRAMES_DIR = "SAMM"
HEADER_ROW = 14  # as in SAMM_Micro_FACS_Codes_v2.xlsx, below a title and notes
HEADER = (
    "Subject",
    "Filename",
    "Inducement Code",
    "Onset Frame",
    "Apex Frame",
    "Offset Frame",
    "Duration",
    "Micro",
    "Action Units",
    "Estimated Emotion",
    "Objective Classes",
    "Notes",
)
NOTES = (
    ("SAMM Dataset - Master FACS Codes",),
    (),
    ("Synthetic: faces drawn by lfd-tcmen, laid out as SAMM_Micro_FACS_Codes_v2.xlsx",),
    (),
    (),
    ("Symbol Key:",),
    ('"/" = or',),
)


@register_layout("samm")
class Samm(Layout):
    dataset = "samm"
    # SAMM's five-class protocol has no disgust or repression: brow lowering reads as anger,
    # the dimpler / lip-corner depressor movements as contempt
    words = {"happiness": "Happiness", "disgust": "Anger", "repression": "Contempt", "surprise": "Surprise"}
    description = "SAMM: SAMM/006/006_1_2/006_05562.jpg, FACS sheet with its header on row 14"

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
        name = f"{subject + 6:03d}"  # SAMM's subjects start at 006
        clip = f"{name}_{int(rng.integers(1, 8))}_{c + 1}"
        first = int(rng.integers(1000, 9000))
        return Placement(name, self.root(out) / name / clip, name + "_{:05d}.jpg", first, ((clip, clip),))

    def write_annotations(self, out: Path, clips: Sequence[RenderedClip]) -> tuple[Path, ...]:
        rows = [
            (
                c.subject,
                c.filename,
                int(c.filename.split("_")[1]),
                c.onset,
                c.apex,
                c.offset,
                c.offset - c.onset + 1,
                "Micro - 1/2",
                number_or_text(c.action_units),
                c.emotion,
                objective_class(c.action_units),
                None,
            )
            for c in clips
        ]
        preamble = [*NOTES, *[()] * (HEADER_ROW - 1 - len(NOTES))]
        sheet = Sheet("MICRO_ONLY", [*preamble, HEADER, *rows], text_columns=(1,), text_from=HEADER_ROW)
        return (write_workbook(out / SHEET_NAME, [sheet]),)
