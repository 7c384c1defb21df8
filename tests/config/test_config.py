"""ExperimentConfig from YAML: defaults, overrides, and errors that name the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from lfd_tcmen.config.benchmark import load_benchmark
from lfd_tcmen.config.experiment import ExperimentConfig, load_config, save_config
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.models import ModelSpec, create_model
from lfd_tcmen.runs.features import resolve_data_path

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def test_yaml_round_trip_and_defaults(tmp_path):
    path = _write(
        tmp_path,
        "name: x\nseed: 4\ndata: {source: store, path: st}\nmodel: {name: lfd_tcmen, params: {motion_dim: 8}}\n"
        "train: {epochs: 3, lr: 0.01}\n",
    )
    cfg = load_config(path)
    assert cfg.name == "x" and cfg.seed == 4
    assert cfg.data.path == "st" and cfg.data.split == "loso"
    assert cfg.model.params == {"motion_dim": 8}
    assert cfg.train.epochs == 3 and cfg.train.lr == 0.01 and cfg.train.protocol == "honest"
    save_config(cfg, tmp_path / "again.yaml")
    assert load_config(tmp_path / "again.yaml") == cfg


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("trian: {epochs: 3}\n", "unknown key(s) trian"),
        ("train: {epoch: 3}\n", "unknown key(s) train.epoch"),
        ("train: {epochs: three}\n", "train.epochs: expected an integer"),
        ("train: {protocol: best}\n", "train.protocol must be one of honest, leaky-best-epoch"),
        ("data: {source: hdf5}\n", "data.source must be one of store, composite"),
        ("data: {flow_norm: bogus}\n", "data.flow_norm must be one of minmax, none"),  # issue 36
        ("data: [1, 2]\n", "data: expected a mapping"),
        ("train: {epochs: 3\n", "invalid YAML"),
    ],
)
def test_bad_config_names_the_file(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(LFDError, match="exp.yaml") as err:
        load_config(path)
    assert message in str(err.value)


def test_missing_file_is_an_lfd_error(tmp_path):
    with pytest.raises(LFDError, match="cannot read config"):
        load_config(tmp_path / "nope.yaml")


def test_overrides():
    cfg = ExperimentConfig.from_dict({"model": {"name": "lfd_tcmen", "params": {"motion_dim": 8}}})
    out = cfg.override(seed=9, epochs=2, protocol="leaky-best-epoch", model="lfd_tcmen")
    assert (out.seed, out.train.epochs, out.train.protocol) == (9, 2, "leaky-best-epoch")
    assert out.model.params == {"motion_dim": 8}  # same model keeps its params
    assert cfg.override(model="other").model.params == {}
    with pytest.raises(LFDError, match="train.epochs"):
        cfg.override(epochs=0)


def test_shipped_configs_load():
    for path in sorted((REPO / "configs").glob("*.yaml")):
        load_config(path)


@pytest.mark.parametrize("path", sorted((REPO / "benchmarks").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_benchmarks_load_and_build_every_model(path):
    """A typo in a method's params (e.g. ``motion_from: flows``) fails here, not hours into a run."""
    bench = load_benchmark(path)
    spec = ModelSpec(3, 8, ("apex",), ("onset:apex",), 32, 28)
    for method in bench.methods:
        if not method.skip:
            bench.experiment(method.name, bench.protocols[0])
            create_model(method.model, spec, **dict(method.params))


def test_composite_path_defaults_to_data_root_then_shared_data(tmp_path):
    cfg = load_config(REPO / "configs" / "megc2019_composite.yaml")
    assert cfg.data.source == "composite" and cfg.data.path is None
    assert resolve_data_path(cfg.data, tmp_path) == tmp_path / "megc2019_composite"
    repo = tmp_path / "repo"
    assert resolve_data_path(cfg.data, None, [repo]) == tmp_path / "shared" / "data" / "megc2019_composite"
    store = ExperimentConfig.from_dict({"data": {"source": "store", "path": "st"}}).data
    assert resolve_data_path(store, None, [tmp_path]) == tmp_path / "st"
    with pytest.raises(LFDError, match="data.path is required"):
        resolve_data_path(ExperimentConfig().data)


def test_a_config_that_is_not_utf8_is_one_clear_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(LFDError, match=r"c.yaml: cannot read config: not UTF-8 text \(byte 9\)"):
        load_config(path)


def test_yaml_numbers_without_a_dot_are_floats(tmp_path):
    """PyYAML (YAML 1.1) reads ``2e-3`` as a string; the project's loader reads it as 0.002,
    in model.params too (they go to the model as they are)."""
    path = tmp_path / "c.yaml"
    path.write_text(
        "model: {name: lfd_tcmen, params: {w_orth: 1e-2}}\ntrain: {lr: 2e-3, weight_decay: 1E-4}\n"
    )
    cfg = load_config(path)
    assert (cfg.train.lr, cfg.train.weight_decay) == (0.002, 0.0001)
    assert cfg.model.params == {"w_orth": 0.01}
    # a number given as a string (from_dict callers) is read; anything else is a clear error
    assert ExperimentConfig.from_dict({"train": {"lr": "5e-4"}}).train.lr == 0.0005
    with pytest.raises(LFDError, match=r"train.lr: expected a finite number, got 'fast' \(e.g. 0.002 or 2e-3\)"):
        ExperimentConfig.from_dict({"train": {"lr": "fast"}})


def test_set_overrides_are_checked_like_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: x\ntrain: {lr: 0.001, epochs: 3}\nmodel: {name: lfd_tcmen, params: {w_orth: 1}}\n")
    cfg = load_config(path, ["train.lr=2e-3", "model.params.w_orth=0", "seed=5", "train.hflip=false"])
    assert (cfg.train.lr, cfg.model.params["w_orth"], cfg.seed, cfg.train.hflip) == (0.002, 0, 5, False)
    assert cfg.train.epochs == 3  # the rest is the file's
    with pytest.raises(LFDError, match="unknown key.*train.lrr") as err:
        load_config(path, ["train.lrr=1"])
    assert err.value.path == "--set"
    with pytest.raises(LFDError, match="train.epochs: expected an integer"):
        load_config(path, ["train.epochs=many"])
    with pytest.raises(LFDError, match="KEY=VALUE"):
        load_config(path, ["train.lr"])
    with pytest.raises(LFDError, match="--set name.x: name is not a mapping"):
        load_config(path, ["name.x=1"])
