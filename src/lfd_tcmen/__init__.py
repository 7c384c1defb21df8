"""lfd-tcmen: facial micro-expression recognition with learnable feature disentanglement.

The library's front door (the CLI is a thin shell over the same names):

    config = load_config("configs/synthetic.yaml")
    features = load_features(config.data)
    summary = run_experiment(config, features, "runs/x", executor=ExecutorOptions(workers=2))
    prediction = predict_video(load_checkpoint("runs/x/folds/<fold>/model.pt"), "face.mp4")
"""

from importlib import import_module
from typing import Any

from lfd_tcmen.core.errors import LFDError as LFDError
from lfd_tcmen.version import __version__ as __version__

# The public names and the modules that define them. A name's module is imported when the name is
# first used (PEP 562 ``__getattr__``), not when the package is: most of them need torch, and
# ``lfd-tcmen --help`` or ``import lfd_tcmen.core.errors`` should not pay its 3-6 s import.
_PUBLIC = {
    "ExecutorOptions": "lfd_tcmen.parallel.core",
    "ExperimentConfig": "lfd_tcmen.config.experiment",
    "DatasetFiles": "lfd_tcmen.preprocess.prepare",
    "create_model": "lfd_tcmen.models",
    "load_benchmark": "lfd_tcmen.config.benchmark",
    "load_checkpoint": "lfd_tcmen.models.checkpoint",
    "load_config": "lfd_tcmen.config.experiment",
    "load_features": "lfd_tcmen.runs.features",
    "model_names": "lfd_tcmen.models",
    "Prediction": "lfd_tcmen.inference.predict",
    "predict_images": "lfd_tcmen.inference.predict",
    "predict_video": "lfd_tcmen.inference.predict",
    "prepare_store": "lfd_tcmen.preprocess.prepare",
    "run_benchmark": "lfd_tcmen.runs.benchmark",
    "run_experiment": "lfd_tcmen.runs.experiment",
}

__all__ = sorted(["LFDError", "__version__", *_PUBLIC])


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'lfd_tcmen' has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name]), name)
    globals()[name] = value  # once: later uses find it without this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
