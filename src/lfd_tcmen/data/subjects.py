"""How each dataset writes its subject ids, and the dataset-qualified id that folds split on.

A subject is written as its dataset's folders write it (CASME II "sub01", SAMM "006", SMIC "s1",
...), whichever file it was read from: the loaders and the MEGC2019 composite (whose ground
truth writes SAMM "6" and SMIC "s01") both go through ``canonical_subject``, so LOSO folds
agree however the data was read. Subjects are then qualified by dataset ("samm/006"), because
two datasets may reuse the same id, and so are samples ("samm/006/006_1_2").
"""

from __future__ import annotations

import re
from collections.abc import Callable

# SMIC's subject folders: "s1", "s2", ... ("s01" in the MEGC2019 list).
SMIC_SUBJECT = re.compile(r"^s(\d+)$", re.IGNORECASE)
# CAS(ME)^3 Part A's subject folders: "spNO.1", written in any case, with or without the dot.
CASME3_SUBJECT = re.compile(r"^sp\s*no\.?\s*(\d+)$", re.IGNORECASE)


def casme2_subject(text: str) -> str:
    """Coding-sheet subject ("01", 1, "sub01") -> folder name "sub01"."""
    text = text.strip()
    if text.lower().startswith("sub"):
        text = text[3:]
    return f"sub{int(text):02d}" if text.isdigit() else f"sub{text}"


def samm_subject(text: str) -> str:
    """SAMM subject as its folder name: "006" (the MEGC2019 list writes 6)."""
    text = text.strip()
    return f"{int(text):03d}" if text.isdigit() else text


def smic_subject(text: str) -> str:
    """SMIC subject as its folder name: "s1" (the MEGC2019 list writes "s01")."""
    m = SMIC_SUBJECT.match(text.strip())
    return f"s{int(m.group(1))}" if m else text.strip().lower()


def casme3_subject(text: str) -> str:
    """CAS(ME)^3 Part A subject as the authors' sheet writes it: "spNO.1" ("SPNO.1", "spno.1 ",
    "spNO.01" and "sp no 1" are the same person, one LOSO subject)."""
    m = CASME3_SUBJECT.match(text.strip())
    return f"spNO.{int(m.group(1))}" if m else text.strip()


def casme3c_subject(text: str) -> str:
    """CAS(ME)^3 Part C subject as its folder name: "01"."""
    return f"{int(text):02d}" if text.isdigit() else text


def dfme_subject(text: str) -> str:
    """DFME subject as written in the sheet, "sub0001" (a bare 1 becomes "sub0001")."""
    return f"sub{int(text):04d}" if text.isdigit() else text


def mmew_subject(text: str) -> str:
    """MMEW subject as in its clip names: "S03" (a bare 3 becomes "S03")."""
    return f"S{int(text):02d}" if text.isdigit() else text


# Datasets not listed keep the subject as their sheet writes it.
SUBJECT_IDS: dict[str, Callable[[str], str]] = {
    "casme2": casme2_subject,
    "casme3": casme3_subject,
    "samm": samm_subject,
    "smic": smic_subject,
    "casme3c": casme3c_subject,
    "dfme": dfme_subject,
    "mmew": mmew_subject,
}


def canonical_subject(dataset: str, text: str) -> str:
    """Subject id as ``dataset``'s own loader writes it (folder names): samm "6" -> "006"."""
    convert = SUBJECT_IDS.get(dataset)
    return convert(text) if convert is not None else text


def qualified_subject(dataset: str, subject: str) -> str:
    """Subject id unique across datasets (the composite mixes three), e.g. ``casme2/sub01``."""
    return f"{dataset}/{subject}"


def sample_id(dataset: str, subject: str, clip: str) -> str:
    """Sample id unique across datasets, used for feature files and predictions:
    ``dataset/subject/clip`` with the canonical subject, e.g. ``smic/s1/s01_ne_01``."""
    return f"{qualified_subject(dataset, subject)}/{clip}"
