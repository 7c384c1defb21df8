"""DFME's layout: part folders of aligned clips, and one coding sheet per part.

``USTC_MEv4_partA_sub0001_sub0015/micro_static_aligned_croped/happiness/sub0001_01/1.jpg``:
the part folder names its subject range (the ranges one peer's code lists: A 1-15, B 16-110,
C 111-300), clips sit under their emotion, frames are 1..n (onset 1). Subjects are dealt over
the parts in turn, so even a small set spans several. Each part's sheet
(``DFME_data_coding_partA-synthetic.xlsx``) has Subject, Filename, Onset, Apex, Offset, Action
Units ("AU4+AU9"), Emotion and fps (500, 300 and 200 here; DFME records its parts at
different rates between 200 and 500 fps).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lfd_tcmen.data.loaders.dfme import ALIGNED
from lfd_tcmen.synth.clips import Motion
from lfd_tcmen.synth.layout import (
    Layout,
    Placement,
    RenderedClip,
    Sheet,
    register_layout,
    write_workbook,
)

# (part, first subject, last subject, frame rate)
PARTS = (("A", 1, 15, 500), ("B", 16, 110, 300), ("C", 111, 300, 200))
HEADER = ("Subject", "Filename", "Onset", "Apex", "Offset", "Action Units", "Emotion", "fps")


def subject_number(index: int) -> tuple[int, int]:
    """(part position in PARTS, DFME subject number) of the 0-based ``index``-th subject: the
    subjects are dealt over the parts in turn, a full part skipped."""
    taken = [0] * len(PARTS)
    part = -1
    for _ in range(index + 1):
        part = (part + 1) % len(PARTS)
        while PARTS[part][1] + taken[part] > PARTS[part][2]:
            part = (part + 1) % len(PARTS)
        taken[part] += 1
    return part, PARTS[part][1] + taken[part] - 1


def part_folder(part: int) -> str:
    name, first, last, _ = PARTS[part]
    return f"USTC_MEv4_part{name}_sub{first:04d}_sub{last:04d}"


def dfme_action_units(action_units: str) -> str:
    """The renderer's "4+9" / "L12" as DFME's "AU4+AU9" / "LAU12" (the side letter first)."""
    codes = []
    for code in action_units.split("+"):
        number = code.lstrip("LR")
        codes.append(f"{code[: len(code) - len(number)]}AU{number}")
    return "+".join(codes)


@register_layout("dfme")
class Dfme(Layout):
    dataset = "dfme"
    words = {"happiness": "happiness", "disgust": "disgust", "repression": "contempt", "surprise": "surprise"}
    description = (
        "DFME: USTC_MEv4_partA_sub0001_sub0015/micro_static_aligned_croped/<emotion>/<clip>/1.jpg, "
        "a coding sheet per part"
    )

    def root(self, out: Path) -> Path:
        return out  # the folder holding the part folders

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
        part, number = subject_number(subject)
        name = f"sub{number:04d}"
        clip = f"{name}_{c + 1:02d}"
        folder = out / part_folder(part) / ALIGNED / self.words[expression.emotion] / clip
        return Placement(name, folder, "{}.jpg", 1, ((clip, clip),))

    def write_annotations(self, out: Path, clips: Sequence[RenderedClip]) -> tuple[Path, ...]:
        sheets = []
        for part, (name, _, _, fps) in enumerate(PARTS):
            rows = [
                (
                    c.subject,
                    c.filename,
                    c.onset,
                    c.apex,
                    c.offset,
                    dfme_action_units(c.action_units),
                    c.emotion,
                    fps,
                )
                for c in clips
                if subject_number(c.subject_index)[0] == part
            ]
            if rows:
                path = out / f"DFME_data_coding_part{name}-synthetic.xlsx"
                sheets.append(write_workbook(path, [Sheet("Sheet1", [HEADER, *rows])]))
        return tuple(sheets)
