"""Load a dataset by name: ``load_samples(dataset, annotations, root, protocol)``.

Importing this module imports every loader (``lfd_tcmen.data.loaders``), so each has registered
itself before the first lookup.
"""

from __future__ import annotations

from pathlib import Path

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data import loaders  # noqa: F401  (the loaders register themselves)
from lfd_tcmen.data.corrections import CorrectionLog, collecting
from lfd_tcmen.data.loaders.common import frames_inside
from lfd_tcmen.data.protocols import apply_protocol, protocol_names
from lfd_tcmen.data.record import Sample
from lfd_tcmen.data.registry import LOADERS


def dataset_names() -> list[str]:
    return LOADERS.names()


def dataset_description(dataset: str) -> str:
    """The first line of ``dataset``'s loader docstring: what it reads."""
    return (LOADERS.get(dataset).__doc__ or "").strip().splitlines()[0]


def dataset_protocols(dataset: str) -> list[str]:
    """The protocols named after ``dataset`` (``casme2-5class`` for casme2; ``casme3-*`` also for
    casme3c). Any protocol applies to any dataset whose emotion words it knows; these are the
    ones written for it."""
    return [p for p in protocol_names() if dataset.startswith(p.split("-", 1)[0])]


def load_samples(
    dataset: str,
    annotations: str | Path,
    root: str | Path | None = None,
    protocol: str | None = None,
    corrections: bool | CorrectionLog = True,
) -> list[Sample]:
    """Read ``dataset``'s annotations (and frame lists under ``root``); apply ``protocol`` if given.

    Samples whose emotion the protocol leaves out (e.g. "others" in a 3-class protocol) are
    dropped; an emotion the protocol does not know raises ``LFDError`` naming file and row.
    corrections: apply the packaged corrections table (True, the default) or not (False); a
    ``CorrectionLog`` says which and records what was applied (``data summary`` reports it).
    """
    loader = LOADERS.get(dataset)
    annotations = Path(annotations)
    if not annotations.exists():
        raise LFDError("annotation file not found", annotations)
    log = corrections if isinstance(corrections, CorrectionLog) else CorrectionLog(enabled=corrections)
    with collecting(log):
        samples = loader(annotations, None if root is None else Path(root))
    if root is not None:  # the one check every loader's frames pass: none outside the root
        samples = frames_inside(samples, Path(root))
    if protocol is not None:
        samples = apply_protocol(samples, protocol)
    return samples
