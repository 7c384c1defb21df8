"""Runs: folds, the run folder (resume, fingerprints), one run pipeline on one executor, benchmarks.

summary = run_experiment(config, features, "runs/x")            # one run
result = run_benchmark(bench, features, "results/y")            # a loop over runs
"""

from lfd_tcmen.runs.benchmark import BenchmarkResult, run_benchmark
from lfd_tcmen.runs.experiment import RunOptions, RunPlan, RunSummary, run_experiment, run_experiments
from lfd_tcmen.runs.features import load_features, preprocess_info, resolve_data_path

__all__ = [
    "BenchmarkResult",
    "RunOptions",
    "RunPlan",
    "RunSummary",
    "load_features",
    "preprocess_info",
    "resolve_data_path",
    "run_benchmark",
    "run_experiment",
    "run_experiments",
]
