"""MMEW (Ben et al., IEEE TPAMI 2021): 300 micro-expressions of 36 subjects at 90 fps.

No label file is public here; the loader follows the documented release. The coding sheet
(``MMEW_Micro_Exp.xlsx``) is CASME II-like: Subject, Filename, OnsetFrame, ApexFrame,
OffsetFrame, Action Units, Estimated Emotion (happiness, surprise, anger, disgust, fear,
sadness, others), remarks. Frames are ``<n>.jpg`` in one folder per clip named
"<subject>-<emotion index>-<sample index>" (e.g. ``S03-01-002``), under
``Micro_Expression/<emotion>/<clip>/`` (the layout the MEB toolkit reads) or
``<subject>/<emotion>/<clip>/`` (the authors' description, http://www.dpailab.com/database.html).
The release files "others" under a folder named "repression"; both names are tried.
"""

from __future__ import annotations

from pathlib import Path

from lfd_tcmen.data.loaders.common import (
    find_dir,
    first_existing,
    read_coding_sheet,
    samples_from_table,
)
from lfd_tcmen.data.record import Sample
from lfd_tcmen.data.registry import register_loader
from lfd_tcmen.data.subjects import mmew_subject

_FOLDER_ALIASES = {"others": ("others", "repression", "other")}


def clip_folder(root: Path, subject: str, filename: str, emotion: str) -> Path:
    candidates = []
    for folder_name in _FOLDER_ALIASES.get(emotion, (emotion,)):
        for base in (root / "Micro_Expression", root, root / subject):
            candidates.append(find_dir(base, folder_name) / filename)
    return first_existing(candidates)


@register_loader("mmew")
def load_mmew(annotations: Path, root: Path | None) -> list[Sample]:
    """MMEW micro-expression samples from its coding sheet."""
    table = read_coding_sheet(annotations)
    return samples_from_table(table, "mmew", root, clip_folder, subject_id=mmew_subject)
