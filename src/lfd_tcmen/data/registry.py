"""Registry of dataset loaders: each reads its authors' annotation file and folder layout."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lfd_tcmen.data.record import Sample
from lfd_tcmen.errors import LFDError

# A loader takes the annotation file (or folder) and the dataset root (frames; may be None when
# only annotations are read) and returns the samples in file order, labels not yet applied.
Loader = Callable[[Path, Path | None], list[Sample]]

_LOADERS: dict[str, Loader] = {}


def register_loader(name: str) -> Callable[[Loader], Loader]:
    """Decorator: make ``fn`` the loader for dataset ``name``."""

    def wrap(fn: Loader) -> Loader:
        if name in _LOADERS:
            raise ValueError(f"dataset loader {name!r} registered twice")
        _LOADERS[name] = fn
        return fn

    return wrap


def dataset_names() -> list[str]:
    _import_loaders()
    return sorted(_LOADERS)


def load_samples(
    dataset: str, annotations: str | Path, root: str | Path | None = None, protocol: str | None = None
) -> list[Sample]:
    """Read ``dataset``'s annotations (and frame lists under ``root``); apply ``protocol`` if given.

    Samples whose emotion the protocol leaves out (e.g. "others" in a 3-class protocol) are
    dropped; an emotion the protocol does not know raises ``LFDError`` naming file and row.
    """
    _import_loaders()
    if dataset not in _LOADERS:
        raise LFDError(f"unknown dataset {dataset!r}; known: {', '.join(sorted(_LOADERS))}")
    annotations = Path(annotations)
    if not annotations.exists():
        raise LFDError("annotation file not found", annotations)
    samples = _LOADERS[dataset](annotations, None if root is None else Path(root))
    if protocol is not None:
        from lfd_tcmen.data.protocols import apply_protocol

        samples = apply_protocol(samples, protocol)
    return samples


def _import_loaders() -> None:
    # Loader modules register themselves on import; importing here keeps import-time cheap.
    from lfd_tcmen.data import loaders  # noqa: F401
