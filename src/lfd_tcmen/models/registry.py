"""The model registry: name -> model class, filled by ``@register_model(name)`` in each model module.

A registered class is called as ``cls(spec, **params)`` (``params``: the YAML ``model.params``).
This module imports no model; ``lfd_tcmen.models.factory`` imports them all and builds them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lfd_tcmen.core.registry import Registry

MODELS: Registry[Callable[..., Any]] = Registry("model")
register_model = MODELS.register
