"""One micro-expression sample, as every loader returns it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from lfd_tcmen.data.subjects import qualified_subject, sample_id


@dataclass(frozen=True)
class Sample:
    """A micro-expression clip (or its pre-computed features) with its annotation.

    Frame indices are the dataset's own frame numbers (as in the coding sheet), not positions
    in ``frames``; ``frame_index`` maps one to the other. ``apex`` is None where the dataset
    gives none (SMIC, CAS(ME)^3 Part C, apex "/" or -1): preprocessing then spots it.
    """

    dataset: str  # registry name of the dataset, e.g. "casme2"
    subject: str  # the dataset's own subject id, e.g. "sub01", "006", "s1"
    clip: str  # the dataset's own clip / filename id, e.g. "EP02_01f"
    emotion: str  # the emotion as written in the annotation (normalised to lower case)
    onset: int | None = None
    apex: int | None = None
    offset: int | None = None
    action_units: str = ""
    frames: tuple[Path, ...] = ()  # ordered frame image paths; empty when only features exist
    frame_numbers: tuple[int, ...] = ()  # the dataset frame number of each entry of ``frames``
    features: dict[str, Path] = field(default_factory=dict)  # pre-computed: "flow", "apex_face"
    label: int | None = None  # class index under ``protocol``; None before a protocol is applied
    class_name: str | None = None
    protocol: str | None = None
    source: str = ""  # "file, row N" the annotation came from, for error messages
    apex_source: str = "annotation"  # "annotation" | "spotted" | "missing"

    @property
    def qualified_subject(self) -> str:
        """Subject id unique across datasets (the composite mixes three), e.g. ``casme2/sub01``."""
        return qualified_subject(self.dataset, self.subject)

    @property
    def sample_id(self) -> str:
        """Stable id used for feature files and predictions: ``dataset/subject/clip``."""
        return sample_id(self.dataset, self.subject, self.clip)

    def frame_index(self, frame_number: int) -> int:
        """Position in ``frames`` of the dataset frame number ``frame_number``."""
        if not self.frame_numbers:
            raise ValueError(f"{self.sample_id}: no frame numbers known")
        try:
            return self.frame_numbers.index(frame_number)
        except ValueError:
            # nearest available frame (numbering gaps occur in real datasets)
            return min(
                range(len(self.frame_numbers)), key=lambda i: abs(self.frame_numbers[i] - frame_number)
            )

    def with_label(self, label: int | None, class_name: str | None, protocol: str) -> Sample:
        return replace(self, label=label, class_name=class_name, protocol=protocol)
