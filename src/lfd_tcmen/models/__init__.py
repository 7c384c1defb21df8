"""Models: the registry, the MERModel interface, LFD-TCMEN and its peers.

Importing this package registers every model (``factory`` imports them all); build one with
``create_model(name, spec, **params)``, or ``create_model_for(features, name, params, num_subjects)``
to take the spec from a FeatureSet. A new model module registers itself with
``@register_model(name)`` and is added to ``factory``'s imports.
"""

from lfd_tcmen.models.base import MERModel
from lfd_tcmen.models.factory import (
    create_model,
    create_model_for,
    model_class,
    model_default_train,
    model_names,
)
from lfd_tcmen.models.registry import register_model
from lfd_tcmen.models.spec import ModelSpec

__all__ = [
    "MERModel",
    "ModelSpec",
    "create_model",
    "create_model_for",
    "model_class",
    "model_default_train",
    "model_names",
    "register_model",
]
