"""DFME (Zhao et al., IEEE TAC 2024): 7,526 micro-expressions of 671 participants, 200-500 fps.

No label file is public here; the loader follows the layout peers' code reads. A coding sheet
per part (``DFME_data_coding.xlsx``) with columns Subject ("sub0001"), Filename, Onset, Apex,
Offset, Action Units, Emotion (happiness, disgust, fear, surprise, anger, sadness, contempt)
and fps. Frames lie in one folder per clip,
``<part folder>/micro_static_aligned_croped/<emotion>/<clip>/`` where the part folder is e.g.
``USTC_MEv4_partA_sub0001_sub0015``; ``root`` may be the folder holding the part folders or a
part folder itself. DFME is usually evaluated by subject-level 10-fold cross-validation
(``splits.subject_kfold``), not LOSO.
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
from lfd_tcmen.data.subjects import dfme_subject

ALIGNED = "micro_static_aligned_croped"  # sic: the release's spelling


def clip_folder(root: Path, subject: str, filename: str, emotion: str) -> Path:
    bases = [root / ALIGNED]
    if root.is_dir():
        bases += sorted(p / ALIGNED for p in root.iterdir() if (p / ALIGNED).is_dir())
    return first_existing([find_dir(find_dir(b, emotion), filename) for b in bases])


@register_loader("dfme")
def load_dfme(annotations: Path, root: Path | None) -> list[Sample]:
    """DFME samples from a part's coding sheet."""
    table = read_coding_sheet(annotations)
    return samples_from_table(table, "dfme", root, clip_folder, subject_id=dfme_subject)
