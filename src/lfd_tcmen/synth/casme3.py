"""CAS(ME)^3's layouts: Part A's task videos and Part C's recordings, several MEs in each.

Part A ("casme3"): ``part_A/spNO.1/a/color/355.jpg``. A subject's MEs are spread over some of
its 13 task videos ("a".."m"), two or three per video on average, with still frames between them; a video's
frames are numbered as in the whole task video (the folder holds the stretch around its MEs,
from a first frame drawn in 100..3999), so frame numbers are far from 0. The sheet is
``cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx``'s: sheet "label" with Subject, Filename (the task
letter), Onset, Apex, Offset, AU, Objective class (I..VII), emotion, every cell text; the
loader names a clip ``<task>_<onset>``.

Part C ("casme3c"): ``part_C/01/color/<n>.jpg``, the whole mock-crime recording of a subject
holding all its MEs; the sheet is ``CAS(ME)3_part_C_ME.xlsx``'s "mockCrimeME" (sub, count,
onset, offset, au as "R4,5", emotion in coarse words), without an apex.
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
    objective_class,
    register_layout,
    write_workbook,
)

TASKS = "abcdefghijklm"  # Part A's 13 task videos
MES_PER_TASK = 3  # a subject uses at least one task video per this many MEs
PART_A_SHEET = "cas(me)3_part_A_ME_label_JpgIndex-synthetic.xlsx"
PART_A_HEADER = ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion")
PART_C_SHEET = "CAS(ME)3_part_C_ME-synthetic.xlsx"
PART_C_HEADER = ("sub", "count", "onset", "offset", "au", "emotion")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")
FIRST_FRAMES = (100, 4000)  # where the rendered stretch of a recording starts


@register_layout("casme3")
class Casme3PartA(Layout):
    dataset = "casme3"
    words = {"happiness": "happy", "disgust": "disgust", "repression": "others", "surprise": "surprise"}
    spaced = True
    description = (
        "CAS(ME)^3 Part A: part_A/spNO.1/a/color/355.jpg, task videos with several MEs, v2 label sheet"
    )

    def root(self, out: Path) -> Path:
        return out / "part_A"

    def recordings(self, rng: np.random.Generator, n_clips: int) -> list[tuple[str, tuple[int, ...]]]:
        """The clips spread over task videos, two or three on average (one where a subject has one
        clip; more where 13 videos are too few); each used video gets at least one, in task order."""
        fewest = min(-(-n_clips // MES_PER_TASK), len(TASKS))
        most = min(max(fewest, n_clips // 2), len(TASKS))
        n_videos = int(rng.integers(fewest, most + 1))
        sizes = 1 + rng.multinomial(n_clips - n_videos, np.full(n_videos, 1 / n_videos))
        tasks = sorted(rng.choice(len(TASKS), n_videos, replace=False))
        starts = np.concatenate([[0], np.cumsum(sizes)])
        return [(TASKS[t], tuple(range(int(starts[k]), int(starts[k + 1])))) for k, t in enumerate(tasks)]

    def place(
        self,
        rng: np.random.Generator,
        out: Path,
        subject: int,
        recording: tuple[str, tuple[int, ...]],
        motion: Motion,
    ) -> Placement:
        task = recording[0]
        name = f"spNO.{subject + 1}"
        first = int(rng.integers(*FIRST_FRAMES))
        clips = tuple((f"{task}_{first + e.onset}", task) for e in motion.expressions)
        return Placement(name, self.root(out) / name / task / "color", "{}.jpg", first, clips)

    def write_annotations(self, out: Path, clips: Sequence[RenderedClip]) -> tuple[Path, ...]:
        rows = [
            (
                c.subject,
                c.filename,
                str(c.onset),
                str(c.apex),
                str(c.offset),
                c.action_units,
                ROMAN[objective_class(c.action_units) - 1],
                c.emotion,
            )
            for c in clips
        ]
        sheets = [Sheet("label", [PART_A_HEADER, *rows]), Sheet("Sheet1"), Sheet("Sheet3")]
        return (write_workbook(out / PART_A_SHEET, sheets),)


@register_layout("casme3c")
class Casme3PartC(Layout):
    dataset = "casme3c"
    words = {"happiness": "positive", "disgust": "negative", "repression": "others", "surprise": "surprise"}
    spaced = True
    annotates_apex = False
    description = "CAS(ME)^3 Part C: part_C/01/color/<n>.jpg, one recording per subject, no apex"

    def root(self, out: Path) -> Path:
        return out / "part_C"

    def recordings(self, rng: np.random.Generator, n_clips: int) -> list[tuple[str, tuple[int, ...]]]:
        return [("", tuple(range(n_clips)))]  # one recording holds all of a subject's MEs

    def place(
        self,
        rng: np.random.Generator,
        out: Path,
        subject: int,
        recording: tuple[str, tuple[int, ...]],
        motion: Motion,
    ) -> Placement:
        name = f"{subject + 1:02d}"
        counts = tuple((str(k + 1), str(k + 1)) for k in range(len(motion.expressions)))
        first = int(rng.integers(*FIRST_FRAMES))
        return Placement(name, self.root(out) / name / "color", "{}.jpg", first, counts)

    def write_annotations(self, out: Path, clips: Sequence[RenderedClip]) -> tuple[Path, ...]:
        rows = [
            (
                c.subject_index + 1,
                int(c.filename),
                c.onset,
                c.offset,
                int(c.action_units) if c.action_units.isdigit() else c.action_units.replace("+", ","),
                c.emotion,
            )
            for c in clips
        ]
        return (write_workbook(out / PART_C_SHEET, [Sheet("mockCrimeME", [PART_C_HEADER, *rows])]),)
