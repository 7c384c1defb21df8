"""What a synthetic layout is: where a dataset keeps its frames and how it writes its annotations.

The renderer (``synth.clips``) draws the same clips for every layout; a layout decides what
the dataset calls them. One module per dataset (``synth.casme2``, ``synth.samm``, ...)
subclasses ``Layout`` and registers it under the name of the loader that reads it, so a set
rendered as ``layout`` loads with ``load_samples(layout, annotations, root)`` and nothing else.
This module imports none of them (``lfd_tcmen.synth.render`` does).

Also here, what several layouts' sheets share: byte-reproducible workbooks and the objective
classes of Davison et al. (2018) that CASME II, SAMM and CAS(ME)^3 sheets carry.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openpyxl

from lfd_tcmen.core.registry import Registry
from lfd_tcmen.synth.clips import Motion

# Objective classes of Davison et al. (2018) as CASME II's sheet assigns them (this table
# reproduces 254 of its 255 rows; the sheet classes "4+L10" IV but "4+10" VII); anything else is class VII.
OBJECTIVE_CLASSES: dict[int, tuple[frozenset[int], ...]] = {
    k: tuple(frozenset(s) for s in v)
    for k, v in {
        1: ({6}, {12}, {6, 12}, {6, 7, 12}, {7, 12}),
        2: ({1, 2}, {5}, {25}, {1, 2, 25}, {25, 26}, {5, 24}),
        3: ({23}, {4}, {4, 7}, {4, 5}, {4, 5, 7}, {17, 24}, {4, 6, 7}, {4, 38}),
        4: (
            {10},
            {9},
            {4, 9},
            {4, 40},
            {4, 5, 40},
            {4, 7, 9},
            {4, 9, 17},
            {4, 7, 10},
            {4, 5, 7, 9},
            {7, 10},
            {4, 7, 9, 10},
        ),  # the last as CASME II's sheet classes it
        5: ({1}, {15}, {1, 4}, {6, 15}, {15, 17}),
        6: ({1, 2, 4}, {20}),
    }.items()
}
# every synthetic workbook is dated this day, so one seed gives byte-identical files
WORKBOOK_DATE = (2019, 7, 1, 0, 0, 0)


def objective_class(action_units: str) -> int:
    """CASME II objective class (1-7) of an action-unit code such as "4+L10" (sides ignored)."""
    aus = frozenset(int(re.sub(r"\D", "", a)) for a in action_units.split("+"))
    for k, sets in OBJECTIVE_CLASSES.items():
        if aus in sets:
            return k
    return 7


def number_or_text(action_units: str) -> int | str:
    """An action-unit cell as CASME II and SAMM store it: 12 as a number, "6+12" or "L12" as text."""
    return int(action_units) if action_units.isdigit() else action_units


@dataclass(frozen=True)
class RenderedClip:
    """One rendered micro-expression as the renderer reports it.

    ``subject`` and ``clip`` are the ids the dataset's loader gives the sample; ``filename`` is
    what the annotation's Filename cell holds (CAS(ME)^3: the task letter); ``emotion`` is the
    dataset's own word as written ("Anger"). onset, apex, offset are dataset frame numbers; apex
    is the true one, also where the dataset annotates none (SMIC, CAS(ME)^3 Part C).
    """

    subject_index: int  # 0-based position of the subject in the rendered set
    subject: str
    clip: str
    filename: str
    emotion: str
    rendered_emotion: str  # the renderer's emotion (synth.clips.EMOTIONS) behind ``emotion``
    action_units: str  # the renderer's code: "6+12", "L12"
    onset: int
    apex: int
    offset: int
    folder: Path  # the frame folder (for a task video, shared with its other MEs)


@dataclass(frozen=True)
class Placement:
    """Where a recording's frames go and what its micro-expressions are called.

    frame_name: a format string taking the frame number ("img{}.jpg", "006_{:05d}.jpg");
    first: dataset frame number of the recording's first frame; clips: per expression of the
    recording, (the loader's clip id, the Filename cell).
    """

    subject: str
    folder: Path
    frame_name: str
    first: int
    clips: tuple[tuple[str, str], ...]

    def frame_paths(self, n_frames: int) -> list[Path]:
        return [self.folder / self.frame_name.format(self.first + i) for i in range(n_frames)]


class Layout:
    """A dataset's folder layout, file naming, frame numbering and annotation format.

    Subclasses set the attributes and implement ``root``, ``place`` and ``write_annotations``;
    ``recordings`` groups clips into task videos where a dataset has them.
    """

    dataset: str = ""  # the registered loader that reads the set
    words: Mapping[str, str] = {}  # renderer emotion -> the dataset's own word for it
    spaced: bool = False  # several MEs per frame folder, with still frames between (task videos)
    annotates_apex: bool = True  # False: the annotation has no apex (SMIC, CAS(ME)^3 Part C)
    description: str = ""  # one line for ``--help``

    def root(self, out: Path) -> Path:
        """The frames folder to give the loader (``load_samples``'s ``root``)."""
        raise NotImplementedError

    def recordings(self, rng: np.random.Generator, n_clips: int) -> list[tuple[str, tuple[int, ...]]]:
        """A subject's clips grouped into recordings: (recording name, clip indices), drawn from
        the subject's generator. By default every clip is its own recording."""
        return [("", (c,)) for c in range(n_clips)]

    def place(
        self,
        rng: np.random.Generator,
        out: Path,
        subject: int,
        recording: tuple[str, tuple[int, ...]],
        motion: Motion,
    ) -> Placement:
        """Where recording ``recording`` (from ``recordings``) of 0-based ``subject`` goes; may
        draw its first frame number and names from the recording's generator ``rng``."""
        raise NotImplementedError

    def write_annotations(self, out: Path, clips: Sequence[RenderedClip]) -> tuple[Path, ...]:
        """Write the annotation file(s) for ``clips`` (in render order); return what to give the
        loader as ``annotations``, one entry per file (DFME: one coding sheet per part)."""
        raise NotImplementedError


LAYOUTS: Registry[type[Layout]] = Registry("synthetic layout")
register_layout = LAYOUTS.register


@dataclass(frozen=True)
class Sheet:
    """One worksheet: its title and rows (an empty tuple is an empty row).

    text_columns: 1-based columns stored as text ("@"), as CASME II and SAMM store subject ids
    ("01", "006"), from row ``text_from`` (the header row) on.
    """

    title: str
    rows: Sequence[Sequence[object]] = ()
    text_columns: tuple[int, ...] = field(default=())
    text_from: int = 1


def write_workbook(path: Path, sheets: Sequence[Sheet]) -> Path:
    """Write ``sheets`` as an .xlsx at ``path``, byte-reproducibly: fixed document dates and zip
    entry times (``WORKBOOK_DATE``), so one seed gives identical files."""
    wb = openpyxl.Workbook()
    wb.active.title = sheets[0].title
    for i, sheet in enumerate(sheets):
        ws = wb.active if i == 0 else wb.create_sheet(sheet.title)
        for number, row in enumerate(sheet.rows, start=1):
            ws.append(tuple(row))
            for column in sheet.text_columns if number > sheet.text_from else ():
                ws.cell(number, column).number_format = "@"
        for column in sheet.text_columns if sheet.rows else ():
            ws.cell(sheet.text_from, column).number_format = "@"
    buffer = io.BytesIO()
    wb.save(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*WORKBOOK_DATE).encode()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            dst.writestr(
                zipfile.ZipInfo(info.filename, date_time=WORKBOOK_DATE),
                data,
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return path
