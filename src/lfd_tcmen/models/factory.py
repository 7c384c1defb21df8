"""Build models by name: ``create_model(name, spec, **params)``.

Importing this module imports every model module, so each has registered itself in
``lfd_tcmen.models.registry.MODELS`` before the first lookup. A new model module is added to
the import line below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.models import htnet, lfd_tcmen, off_apexnet, rpca, ststnet  # noqa: F401  (they register)
from lfd_tcmen.models.base import MERModel
from lfd_tcmen.models.init import initialise
from lfd_tcmen.models.registry import MODELS
from lfd_tcmen.models.spec import ModelSpec

# The training settings a model's ``default_train`` (the paper's) may set for a run.
DEFAULT_TRAIN_KEYS = ("epochs", "lr", "batch_size")


def model_names() -> list[str]:
    return MODELS.names()


def model_class(name: str) -> Callable[..., MERModel]:
    """What ``register_model(name)`` registered (usually the model class); unknown: ``LFDError``."""
    return MODELS.get(name)


def create_model(name: str, spec: ModelSpec, **params: Any) -> MERModel:
    """Build model ``name`` for ``spec``; unknown names or parameters raise ``LFDError``."""
    return model_class(name)(spec, **params)


def create_model_for(
    features: FeatureSet,
    name: str,
    params: Mapping[str, Any],
    num_subjects: int,
    *,
    seed: int | None = None,
) -> MERModel:
    """Model ``name`` (YAML ``params``) shaped for ``features``; ``num_subjects`` sizes the identity head
    (the fold's training subjects). ``seed``: initialise every submodule from a generator seeded by
    (seed, its name) (``models.init``); None keeps torch's global draw (e.g. weights about to be
    loaded)."""
    model = create_model(name, ModelSpec.from_feature_set(features, num_subjects), **dict(params))
    if seed is not None:
        initialise(model, seed)
    return model


def check_model_config(
    features: FeatureSet, name: str, params: Mapping[str, Any], source: str | Path
) -> None:
    """Build model ``name`` with ``params`` for ``features`` once, before any work, so a parameter
    no model can take (``identity_dim: 4.5``, ``w_orth: .nan``) stops the run naming the config
    file ``source`` and the key (``model.params.identity_dim``)."""
    try:
        create_model_for(features, name, params, max(1, len(set(features.subjects)) - 1))
    except LFDError as err:
        raise LFDError(err.message, err.path or source, err.row) from None


def check_grid_models(
    features: FeatureSet, name: str, params: Mapping[str, Any], grid: Mapping[str, Any], source: str | Path
) -> None:
    """``check_model_config`` at every value of ``train.select_grid``'s ``model.params.*`` keys, so
    a parameter the model does not have fails at load, naming the grid key, not at the first fold."""
    for key, values in grid.items():
        if not str(key).startswith("model.params."):
            continue
        for value in values:
            try:
                check_model_config(
                    features, name, {**params, key.removeprefix("model.params."): value}, source
                )
            except LFDError as err:
                raise LFDError(f"train.select_grid.{key}: {err.message}", err.path, err.row) from None


def model_default_train(name: str) -> dict[str, Any]:
    """``{"epochs", "lr", "batch_size"}`` from the model class's ``default_train`` (the paper's).

    Raises ``LFDError`` for a model without one, or one whose optimiser the engine lacks (Adam only).
    """
    defaults = getattr(model_class(name), "default_train", None)
    if not defaults:
        raise LFDError(f"model {name!r} declares no default_train (paper settings)")
    optimizer = str(defaults.get("optimizer", "adam")).lower()
    if optimizer != "adam":
        raise LFDError(f"model {name!r} trains with {optimizer!r}; the engine trains with Adam only")
    return {k: defaults[k] for k in DEFAULT_TRAIN_KEYS if k in defaults}
