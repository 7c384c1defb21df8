"""Registry of dataset loaders: each reads its authors' annotation file and folder layout.

A loader module registers itself with ``@register_loader(name)``; this module imports none of
them (``lfd_tcmen.data.datasets`` does, and is where samples are loaded by dataset name).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lfd_tcmen.core.registry import Registry
from lfd_tcmen.data.record import Sample

# A loader takes the annotation file (or folder) and the dataset root (frames; may be None when
# only annotations are read) and returns the samples in file order, labels not yet applied.
Loader = Callable[[Path, Path | None], list[Sample]]

LOADERS: Registry[Loader] = Registry("dataset")
register_loader = LOADERS.register
