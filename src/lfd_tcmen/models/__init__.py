"""Models: the registry, the MERModel interface, LFD-TCMEN and its peers.

Importing this package registers every model; build one with ``create_model(name, spec, **params)``.
A new model module registers itself with ``@register_model(name)`` and is imported here.
"""

from lfd_tcmen.models import htnet, lfd_tcmen, off_apexnet, rpca, ststnet  # noqa: F401  (register)
from lfd_tcmen.models.base import MERModel
from lfd_tcmen.models.registry import ModelSpec, create_model, model_names, register_model

__all__ = ["MERModel", "ModelSpec", "create_model", "model_names", "register_model"]
