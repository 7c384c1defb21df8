"""SAMM (Davison et al., IEEE TAC 2018): 159 micro-movements of 29 subjects at 200 fps.

Annotations: ``SAMM_Micro_FACS_Codes_v2.xlsx`` (sheet "MICRO_ONLY"). Twelve rows of notes come
first; the header (Subject, Filename, Inducement Code, Onset Frame, Apex Frame, Offset Frame,
Duration, Micro, Action Units, Estimated Emotion, Objective Classes, Notes) is on row 14.
Subjects are "006".."037"; emotions are capitalised ("Anger", "Other").

Frames: ``root/006/006_1_2/006_05562.jpg`` (subject folder, clip folder, ``<subject>_<frame>``).
"""

from __future__ import annotations

from pathlib import Path

from lfd_tcmen.data.loaders.common import (
    read_coding_sheet,
    samples_from_table,
)
from lfd_tcmen.data.record import Sample
from lfd_tcmen.data.registry import register_loader
from lfd_tcmen.data.subjects import samm_subject


def clip_folder(root: Path, subject: str, filename: str, emotion: str) -> Path:
    return root / subject / filename


@register_loader("samm")
def load_samm(annotations: Path, root: Path | None) -> list[Sample]:
    """SAMM samples from the FACS coding sheet (header row found wherever it is)."""
    table = read_coding_sheet(annotations)
    return samples_from_table(table, "samm", root, clip_folder, subject_id=samm_subject)
