"""Configuration: YAML files to frozen dataclasses. ``experiment`` (ExperimentConfig, one run),
``benchmark`` (BenchmarkConfig, a loop over methods and seeds; it checks dataset, protocol and
model names against their registries, so it sits above models/ in the data flow), ``shipped``
(the configs copied into the package). Import the submodules directly."""
