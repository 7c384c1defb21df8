"""lfd-tcmen: facial micro-expression recognition with learnable feature disentanglement.

The library's front door (the CLI is a thin shell over the same names):

    config = load_config("configs/synthetic.yaml")
    features = load_features(config.data)
    summary = run_experiment(config, features, "runs/x", workers=2)
    prediction = predict_video(load_checkpoint("runs/x/folds/<fold>/model.pt"), "face.mp4")
"""

from lfd_tcmen.benchmark_config import load_benchmark
from lfd_tcmen.config import ExperimentConfig, load_config
from lfd_tcmen.errors import LFDError
from lfd_tcmen.inference.predict import Prediction, predict_images, predict_video
from lfd_tcmen.models import create_model, model_names
from lfd_tcmen.models.checkpoint import load_checkpoint
from lfd_tcmen.runs.benchmark import run_benchmark
from lfd_tcmen.runs.experiment import run_experiment
from lfd_tcmen.runs.features import load_features
from lfd_tcmen.version import __version__

__all__ = [
    "ExperimentConfig",
    "LFDError",
    "Prediction",
    "__version__",
    "create_model",
    "load_benchmark",
    "load_checkpoint",
    "load_config",
    "load_features",
    "model_names",
    "predict_images",
    "predict_video",
    "run_benchmark",
    "run_experiment",
]
