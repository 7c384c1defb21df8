"""The MEGC2019 composite list as Samples (pre-computed features only, no frames).

``annotations`` is ``combined_3class_gt.csv``; the flow and apex-face files are looked up under
``root`` (default: the csv's folder) exactly as ``lfd_tcmen.data.composite`` does, and given
in ``Sample.features`` as {"flow": path, "apex_face": path}. The emotion is the class name
(negative, positive, surprise), so protocol "megc2019-3class" applies directly.
"""

from __future__ import annotations

from pathlib import Path

from lfd_tcmen.data.composite import CLASS_NAMES, read_composite_index
from lfd_tcmen.data.record import Sample
from lfd_tcmen.data.registry import register_loader


@register_loader("megc2019")
def load_megc2019(annotations: Path, root: Path | None) -> list[Sample]:
    """One Sample per ground-truth row, in file order, subjects written as their loaders write them."""
    return [
        Sample(
            dataset=e.dataset,
            subject=e.subject,
            clip=e.clip,
            emotion=CLASS_NAMES[e.label],
            features={"flow": e.flow, "apex_face": e.face},
            source=e.source,
            apex_source="annotation",
        )
        for e in read_composite_index(annotations, root)
    ]
