"""Benchmark YAML: one data section, seed and shared training, then methods, ablations and variants.

    name: megc2019
    seed: 0                                 # or seeds: [0, 1, 2, 3, 4]: every method with each seed
    data: {source: composite, ...}          # the same for every run
    protocols: [honest, leaky-best-epoch]
    train: {epochs: 30, ...}                # shared; a method's own train block overrides it
    methods:
      - {name: lfd_tcmen, model: lfd_tcmen, params: {}}
      - {name: ststnet, model: ststnet, use_model_defaults: true, train: {epochs: 150}}
      - {name: htnet, model: htnet, skip: "not run on CPU: GPU job"}
    ablations:                              # one switch off: the rows Holm corrects together
      - {name: no_drl, ablation_of: lfd_tcmen, params: {use_drl: false}}
    variants:                               # something added or changed (a second Holm family)
      - {name: flow, variant_of: lfd_tcmen, params: {motion_from: flow}}
    reference: lfd_tcmen                    # optional: every row's difference from this method
    ensembles:                              # optional: methods averaged, declared before any run
      - {name: lfd_plus_offapex, members: [lfd_tcmen, off_apexnet_shared]}
    notes: ["free text for the table"]
    published:                              # optional: figures from the literature, drawn on bars.png
      - {name: STSTNet, uf1: 0.7353, uar: 0.7605, protocol: honest, note: "last epoch"}
    prepare: {dataset: casme3, protocol: casme3-3class, preprocess: {}}   # optional, below
    based_on: megc2019.yaml                 # optional, below

``prepare`` names the dataset, label protocol and preprocess settings of the feature store at
``data.path``: ``lfd-tcmen benchmark --root FRAMES --annotations FILE`` prepares (or completes)
it before training, so one command goes from a dataset's raw frames to the table.
A method's ``skip_on_composite: reason`` skips it only where ``data.source`` is the composite
(e.g. an ablation of the flow segments the composite does not have).
``based_on`` takes every key of another benchmark YAML (a path relative to this one) that this
file does not give itself, but its ``published`` figures (they belong to its dataset) and its
``ensembles`` (they name its methods): one list of methods for every dataset's benchmark. A published figure's ``protocol`` is honest,
leaky-best-epoch (chosen on the test subject) or unknown.

A run's training settings, in order: the shared ``train``; with ``use_model_defaults`` the model
class's ``default_train`` (epochs, lr, batch size: the paper's); the method's own ``train``. An
ablation (or variant) starts from its method's model, params and training and changes what it
names. Methods
cannot change the data or the seed, so every run sees the same folds.

``ensembles`` declares, before any run, rows whose members' test probabilities are averaged
(``runs.ensemble``: each member's seeds first, then the members with equal weight); the
benchmark writes them once every member's run is there, as rows of their own Holm family.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lfd_tcmen.config.experiment import (
    HONEST,
    LEAKY,
    MAX_SEED,
    PROTOCOLS,
    ExperimentConfig,
    apply_overrides,
    read_yaml,
)
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.datasets import dataset_names
from lfd_tcmen.data.protocols import protocol_names
from lfd_tcmen.models import model_default_train
from lfd_tcmen.preprocess.config import PreprocessConfig

_TOP_KEYS = {
    "name",
    "seed",
    "seeds",
    "data",
    "train",
    "protocols",
    "methods",
    "ablations",
    "variants",
    "notes",
    "reference",
    "prepare",
    "based_on",
    "published",
    "ensembles",
}
_NOT_INHERITED = ("based_on", "published", "ensembles")  # keys a based_on file keeps to itself
_PUBLISHED_KEYS = {"name", "uf1", "uar", "protocol", "note"}
_PREPARE_KEYS = {"dataset", "protocol", "preprocess"}
_METHOD_KEYS = {
    "name",
    "model",
    "params",
    "train",
    "use_model_defaults",
    "ablation_of",
    "variant_of",
    "skip",
    "skip_on_composite",
    "note",
}
_BASE_KEY = {"ablations": "ablation_of", "variants": "variant_of"}  # the section's link to its method


@dataclass(frozen=True)
class Method:
    """One row group of the table: a model with its params and training overrides."""

    name: str
    model: str
    params: Mapping[str, Any] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)
    use_model_defaults: bool = False
    ablation_of: str | None = None  # a switch off of this method
    variant_of: str | None = None  # an addition to or change of this method
    skip: str | None = None
    note: str = ""

    @property
    def kind(self) -> str:
        if self.ablation_of:
            return "ablation"
        return "variant" if self.variant_of else "method"


@dataclass(frozen=True)
class Ensemble:
    """A declared ensemble: rows of the benchmark whose test probabilities are averaged
    (``runs.ensemble``), named in the YAML before any run, never chosen on test scores."""

    name: str
    members: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class Prepare:
    """What ``lfd-tcmen prepare`` makes the benchmark's feature store from: a dataset (loader
    name), its label protocol and the preprocess settings."""

    dataset: str
    protocol: str
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)


@dataclass(frozen=True)
class Published:
    """A figure from the literature on this benchmark's data: drawn beside the rows, never compared
    by bootstrap (no predictions). protocol: honest, leaky-best-epoch or unknown."""

    name: str
    uf1: float
    uar: float | None = None
    protocol: str = "unknown"
    note: str = ""


@dataclass(frozen=True)
class BenchmarkConfig:
    """A benchmark YAML: shared data/seed/train, the protocols and the methods, in table order."""

    name: str
    seeds: tuple[int, ...]
    data: Mapping[str, Any]
    train: Mapping[str, Any]
    protocols: tuple[str, ...]
    methods: tuple[Method, ...]
    notes: tuple[str, ...] = ()
    source: str = "<benchmark>"
    reference: str | None = None  # the method every row is compared with (paired bootstrap)
    prepare: Prepare | None = None  # how the feature store at data.path is made from raw frames
    ensembles: tuple[Ensemble, ...] = ()  # declared ensembles of methods, rows after the methods
    overrides: tuple[str, ...] = ()  # --set KEY=VALUE items, applied to every run's config
    published: tuple[Published, ...] = ()  # the literature's figures on this data (bars.png)

    def method(self, name: str) -> Method:
        for m in self.methods:
            if m.name == name:
                return m
        raise LFDError(f"unknown method {name!r}; known: {', '.join(self.names())}", path=self.source)

    def names(self) -> list[str]:
        return [m.name for m in self.methods]

    @property
    def seed(self) -> int:
        """The first seed: the one that names the folds (LOSO folds do not depend on it)."""
        return self.seeds[0]

    def experiment(self, name: str, protocol: str, seed: int | None = None) -> ExperimentConfig:
        """The ``ExperimentConfig`` of one run: shared data, the seed (default: the first), the
        method's model and training."""
        m = self.method(name)
        train = {**self.train}
        if m.use_model_defaults:
            train.update(model_default_train(m.model))
        train.update(m.train)
        train["protocol"] = protocol
        raw = {
            "name": f"{self.name}-{m.name}",
            "seed": self.seed if seed is None else seed,
            "data": dict(self.data),
            "model": {"name": m.model, "params": dict(m.params)},
            "train": train,
        }
        if self.overrides:  # over the method's settings; the protocol stays the one asked for
            raw = apply_overrides(raw, self.overrides)
            raw["train"]["protocol"] = protocol
            return ExperimentConfig.from_dict(raw, source="--set")
        return ExperimentConfig.from_dict(raw, source=self.source)

    def with_overrides(self, overrides: Sequence[str]) -> BenchmarkConfig:
        """The benchmark with ``--set`` items over every run's config, each run checked now."""
        bench = replace(self, overrides=tuple(overrides))
        for m in bench.methods:
            bench.experiment(m.name, bench.protocols[0])
        return bench


def load_benchmark(path: str | Path) -> BenchmarkConfig:
    """Read and check a benchmark YAML; every run's config is built once here so errors come first."""
    path = Path(path)
    return benchmark_from_dict(_read_based(path, ()), source=str(path))


def _read_based(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    """The YAML at ``path`` over the keys of the file its ``based_on`` names (recursively)."""
    raw = read_yaml(path, "benchmark config")
    if not isinstance(raw, Mapping) or "based_on" not in raw:
        return raw
    base = (path.parent / str(raw["based_on"])).resolve()
    if base in seen or base == path.resolve():
        raise LFDError(f"based_on {raw['based_on']!r} leads back to a file already read", path=path)
    if not base.is_file():
        raise LFDError(f"based_on {raw['based_on']!r}: no such file next to this one", path=path)
    inherited = {
        k: v for k, v in _read_based(base, (*seen, path.resolve())).items() if k not in _NOT_INHERITED
    }
    return {k: v for k, v in {**inherited, **raw}.items() if k != "based_on"}


def benchmark_from_dict(raw: Mapping[str, Any], source: str = "<benchmark>") -> BenchmarkConfig:
    if not isinstance(raw, Mapping):
        raise LFDError("a benchmark config is a mapping", path=source)
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise LFDError(
            f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_TOP_KEYS))}", path=source
        )
    protocols = tuple(raw.get("protocols") or (HONEST, LEAKY))
    bad = [p for p in protocols if p not in PROTOCOLS]
    if bad:
        raise LFDError(f"protocols: unknown {', '.join(bad)}; known: {', '.join(PROTOCOLS)}", path=source)
    methods: dict[str, Method] = {}
    composite = (raw.get("data") or {}).get("source") == "composite"
    for section in ("methods", "ablations", "variants"):
        for entry in raw.get(section) or []:
            m = _method(entry, methods, section, source, composite)
            if m.name in methods:
                raise LFDError(f"{section}: method {m.name!r} named twice", path=source)
            methods[m.name] = m
    if not methods:
        raise LFDError("no methods", path=source)
    bench = BenchmarkConfig(
        name=str(raw.get("name", "benchmark")),
        seeds=_seeds(raw, source),
        data=dict(raw.get("data") or {}),
        train=dict(raw.get("train") or {}),
        protocols=protocols,
        methods=tuple(methods.values()),
        notes=tuple(str(n) for n in raw.get("notes") or ()),
        source=source,
        reference=None if raw.get("reference") is None else str(raw["reference"]),
        prepare=_prepare(raw.get("prepare"), source),
        published=tuple(_published(entry, source) for entry in raw.get("published") or ()),
        ensembles=_ensembles(raw.get("ensembles"), methods, source),
    )
    if bench.reference is not None:
        bench.method(bench.reference)  # must name a method
    for m in bench.methods:  # fail on a typo in any run's settings before anything trains
        bench.experiment(m.name, protocols[0])
    return bench


def _method(entry: Any, known: Mapping[str, Method], section: str, source: str, composite: bool) -> Method:
    if not isinstance(entry, Mapping) or "name" not in entry:
        raise LFDError(f"{section}: each entry is a mapping with a name, got {entry!r}", path=source)
    unknown = sorted(set(entry) - _METHOD_KEYS)
    if unknown:
        raise LFDError(f"{section}.{entry['name']}: unknown key(s) {', '.join(unknown)}", path=source)
    name = str(entry["name"])
    if "/" in name or name.startswith("."):
        raise LFDError(f"{section}: bad method name {name!r}", path=source)
    misplaced = sorted(k for k in ("ablation_of", "variant_of") if k in entry and _BASE_KEY.get(section) != k)
    if misplaced:
        raise LFDError(
            f"{section}.{name}: {misplaced[0]} belongs in {_section_of(misplaced[0])}", path=source
        )
    link = _BASE_KEY.get(section)
    if link is not None:
        base_name = entry.get(link)
        if base_name not in known:
            raise LFDError(f"{section}.{name}: {link} {base_name!r} is not a method above it", path=source)
        base = known[base_name]
        return Method(
            name=name,
            model=str(entry.get("model", base.model)),
            params={**base.params, **(entry.get("params") or {})},
            train={**base.train, **(entry.get("train") or {})},
            use_model_defaults=bool(entry.get("use_model_defaults", base.use_model_defaults)),
            skip=_skip(entry, composite),
            note=str(entry.get("note", "")),
            **{link: str(base_name)},
        )
    if "model" not in entry:
        raise LFDError(f"{section}.{name}: model is required", path=source)
    return Method(
        name=name,
        model=str(entry["model"]),
        params=dict(entry.get("params") or {}),
        train=dict(entry.get("train") or {}),
        use_model_defaults=bool(entry.get("use_model_defaults", False)),
        skip=_skip(entry, composite),
        note=str(entry.get("note", "")),
    )


def _skip(entry: Mapping[str, Any], composite: bool) -> str | None:
    """Why the method is not run: its ``skip``, or on the composite its ``skip_on_composite``."""
    reason = entry.get("skip") or (entry.get("skip_on_composite") if composite else None)
    return None if reason is None else str(reason)


def _published(entry: Any, source: str) -> Published:
    """One ``published`` entry: a name, a UF1 in [0, 1], an optional UAR, its protocol, a note."""
    if not isinstance(entry, Mapping) or "name" not in entry or "uf1" not in entry:
        raise LFDError(f"published: each entry needs name and uf1, got {entry!r}", path=source)
    unknown = sorted(set(entry) - _PUBLISHED_KEYS)
    if unknown:
        raise LFDError(f"published {entry['name']!r}: unknown key(s) {', '.join(unknown)}", path=source)
    protocol = str(entry.get("protocol", "unknown"))
    if protocol not in (HONEST, LEAKY, "unknown"):
        raise LFDError(
            f"published {entry['name']!r}: protocol {protocol!r}; known: {HONEST}, {LEAKY}, unknown",
            path=source,
        )
    scores = {k: entry.get(k) for k in ("uf1", "uar")}
    for key, value in scores.items():
        if value is not None and not (isinstance(value, int | float) and 0.0 <= float(value) <= 1.0):
            raise LFDError(
                f"published {entry['name']!r}: {key} must be a number in [0, 1], got {value!r}", path=source
            )
    return Published(
        name=str(entry["name"]),
        uf1=float(entry["uf1"]),
        uar=None if scores["uar"] is None else float(scores["uar"]),
        protocol=protocol,
        note=str(entry.get("note", "")),
    )


def _prepare(raw: Any, source: str) -> Prepare | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not {"dataset", "protocol"} <= set(raw):
        raise LFDError("prepare: a mapping with a dataset and a protocol", path=source)
    unknown = sorted(set(raw) - _PREPARE_KEYS)
    if unknown:
        raise LFDError(f"prepare: unknown key(s) {', '.join(unknown)}", path=source)
    dataset, protocol = str(raw["dataset"]), str(raw["protocol"])
    if dataset not in dataset_names():
        raise LFDError(
            f"prepare.dataset: unknown {dataset!r}; known: {', '.join(dataset_names())}", path=source
        )
    if protocol not in protocol_names():
        raise LFDError(
            f"prepare.protocol: unknown {protocol!r}; known: {', '.join(protocol_names())}", path=source
        )
    preprocess = PreprocessConfig.from_dict(dict(raw.get("preprocess") or {}), source=source)
    return Prepare(dataset, protocol, preprocess)


def _ensembles(raw: Any, methods: Mapping[str, Method], source: str) -> tuple[Ensemble, ...]:
    """``ensembles: [{name, members: [method, ...], note}]``: at least two distinct members, each
    a method above; a name of its own."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise LFDError("ensembles: a list of {name, members, note}", path=source)
    found: list[Ensemble] = []
    for entry in raw:
        if not isinstance(entry, Mapping) or not {"name", "members"} <= set(entry):
            raise LFDError(f"ensembles: each entry needs a name and members, got {entry!r}", path=source)
        unknown = sorted(set(entry) - {"name", "members", "note"})
        name = str(entry["name"])
        if unknown:
            raise LFDError(f"ensembles.{name}: unknown key(s) {', '.join(unknown)}", path=source)
        if name in methods or name in {e.name for e in found} or "/" in name or name.startswith("."):
            raise LFDError(f"ensembles: name {name!r} is taken or not a folder name", path=source)
        members = entry["members"]
        if not isinstance(members, list) or len(set(map(str, members))) != len(members) or len(members) < 2:
            raise LFDError(f"ensembles.{name}: members must be two or more distinct methods", path=source)
        for member in members:
            if str(member) not in methods:
                raise LFDError(
                    f"ensembles.{name}: member {member!r} is not a method of this benchmark", path=source
                )
            if methods[str(member)].skip:
                raise LFDError(
                    f"ensembles.{name}: member {member!r} is not run ({methods[str(member)].skip})",
                    path=source,
                )
        found.append(Ensemble(name, tuple(map(str, members)), str(entry.get("note", ""))))
    return tuple(found)


def _section_of(link: str) -> str:
    return next(section for section, key in _BASE_KEY.items() if key == link)


def _seeds(raw: Mapping[str, Any], source: str) -> tuple[int, ...]:
    """``seeds: [..]`` or ``seed: N`` (default 0), never both; distinct integers."""
    if "seed" in raw and "seeds" in raw:
        raise LFDError("give seed or seeds, not both", path=source)
    seeds = raw.get("seeds", [raw.get("seed", 0)])
    if (
        not isinstance(seeds, list)
        or not seeds
        or any(isinstance(k, bool) or not isinstance(k, int) for k in seeds)
    ):
        raise LFDError(f"seeds: expected a list of integers, got {seeds!r}", path=source)
    if len(set(seeds)) != len(seeds):
        raise LFDError(f"seeds: {seeds} repeats a seed", path=source)
    if any(not 0 <= k <= MAX_SEED for k in seeds):
        raise LFDError(
            f"seeds: each must be an integer in [0, {MAX_SEED}] (numpy's range), got {seeds}", path=source
        )
    return tuple(seeds)
