"""One registry helper: named things (dataset loaders, protocols, models) looked up by name.

A registry imports nothing of what registers in it: a module that defines a loader or a model
imports its registry and registers itself, and whoever needs them all imports those modules.

    MODELS = Registry("model")

    @MODELS.register("htnet")
    class HTNet(MERModel): ...

    MODELS.get("htnet")  # HTNet; an unknown name raises LFDError listing the known ones
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from lfd_tcmen.core.errors import LFDError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> object, each name registered once.

    kind: what the entries are ("model", "dataset", "protocol"), named in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: register the decorated object as ``name`` and return it unchanged."""

        def wrap(obj: T) -> T:
            return self.add(name, obj)

        return wrap

    def add(self, name: str, obj: T) -> T:
        """Register ``obj`` as ``name`` and return it; a name registered twice is a ``ValueError``
        (a programming error, found on import, not a user's)."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self._entries[name] = obj
        return obj

    def get(self, name: str) -> T:
        """The object registered as ``name``; ``LFDError`` listing the known names otherwise."""
        try:
            return self._entries[name]
        except KeyError:
            raise LFDError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
