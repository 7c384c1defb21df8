"""Experiment configuration: frozen dataclasses built from one YAML file.

A config file has five top-level keys, each optional except ``model.name`` (defaulted):

    name: synthetic          # names the run
    seed: 0                  # run seed; each fold's seed is derived from it and the fold name
    data:   {source, path, face_size, flow_size, flow_norm, split, k}
    model:  {name, params}   # params go to create_model(name, spec, **params)
    train:  {protocol, epochs, batch_size, lr, weight_decay, schedule, ...}

Unknown keys raise ``LFDError`` naming the YAML file, so a typo never silently keeps a default.
Nothing here reads the environment; paths are resolved by the caller.
"""

from __future__ import annotations

import copy
import math
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import yaml

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.files import plain

HONEST, LEAKY, NESTED = "honest", "leaky-best-epoch", "honest-nested"
PROTOCOLS = (HONEST, LEAKY, NESTED)
SOURCES = ("store", "composite")
SPLITS = ("loso", "kfold", "lodo", "all")
FLOW_NORMS = ("minmax", "none")  # store flows: min-max per channel (the peers' images), or raw pixels
SCHEDULES = ("constant", "cosine", "step")
SAMPLERS = ("random", "pk")
DEVICES = ("auto", "cpu", "cuda")
MAX_SEED = 2**32 - 1  # numpy's generators take seeds in [0, 2**32)


@dataclass(frozen=True)
class DataConfig:
    """Where the FeatureSet comes from and how the subjects are split.

    source: "store" (a feature store written by ``lfd-tcmen prepare``) or "composite" (the
        MEGC2019 composite folder of pre-computed apex faces and flow images).
    path: the store / composite folder; None for the composite means "$LFD_TCMEN_DATA or
        ../shared/data, then megc2019_composite" (resolved by the caller, never here).
    split: "loso" (one fold per qualified subject), "kfold" (``k`` subject-level folds), "lodo"
        (leave one dataset out: one fold per dataset, trained on the others; needs >= 2
        datasets) or "all" (one fold "all" trained on every subject, nothing tested: the model
        to deploy or to score on another dataset with ``lfd-tcmen evaluate``).
    """

    source: str = "store"
    path: str | None = None
    face_size: int = 64
    flow_size: int = 28
    flow_norm: str = "minmax"
    split: str = "loso"
    k: int = 10

    def __post_init__(self) -> None:
        _choice("data.source", self.source, SOURCES)
        _choice("data.split", self.split, SPLITS)
        _choice("data.flow_norm", self.flow_norm, FLOW_NORMS)
        _positive("data.face_size", self.face_size)
        _positive("data.flow_size", self.flow_size)


@dataclass(frozen=True)
class ModelConfig:
    """The registered model and its parameters (passed through as ``**params``)."""

    name: str = "lfd_tcmen"
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainConfig:
    """One fold's training: a fixed epoch count and a fixed learning-rate schedule.

    protocol: "honest" trains ``epochs`` epochs and predicts the test subject once, at the end;
        "leaky-best-epoch" predicts the test subject after every epoch and keeps the best epoch
        (the peers' practice; it selects on the test labels, so its figures are optimistic);
        "honest-nested" chooses the stopping epoch by ``select_k``-fold cross-validation over the
        fold's TRAINING subjects (each inner fold trained with the same schedule, its held-out
        training subjects scored after every epoch), then trains on all training subjects and
        keeps that epoch: about ``select_k + 1`` trainings per fold, the test subject unseen.
    select_k: inner folds of "honest-nested" (over the fold's training subjects).
    select_grid: for "honest-nested", a small declared grid chosen with the epoch by the same
        inner cross-validation, e.g. ``{"train.lr": [5e-4, 1e-3], "model.w_identity": [0, 0.1]}``:
        keys ``train.lr``, ``train.weight_decay``, ``train.batch_size`` or ``model.<param>``,
        each a list of values; every combination is tried (at most 16), and the outer training
        uses the chosen one. Empty: the epoch only.
    average_last: keep the average of the weights after each of the last ``average_last``
        epochs (stochastic weight averaging over the end of the schedule) instead of the last
        epoch's weights; 0: off. Applies to the honest protocol's kept model; a fixed rule, so
        it stays honest.
    tta_hflip: predict each sample as the mean of its and its mirror image's class
        probabilities (faces mirrored, flows mirrored with u negated); codes come from the
        sample as it is. Used in the run's predictions and by ``lfd-tcmen predict``.
    schedule: "constant", "cosine" (annealed to ``lr * min_lr_ratio`` over ``epochs``) or
        "step" (``lr * 0.1`` after ``step_epochs`` epochs).
    sampler: how an epoch's training samples are batched. "random": a random order cut into
        batches of ``batch_size``; "pk": subject-balanced batches of ``pk_subjects`` subjects x
        ``batch_size // pk_subjects`` samples each (fewer where a subject has fewer), every
        sample once per epoch, so each batch holds several samples of several subjects (what
        the subject adversary and the HSIC penalty compare).
    pk_subjects: P of the "pk" sampler.
    mixup: mixup of the FLOWS within each batch (Zhang et al. 2018), alpha of its Beta(alpha,
        alpha) weight; the classification loss mixes the two labels alike. Faces are left
        alone (identity stays the sample's own). 0: off.
    flow_jitter: probability that a training sample's flow image is re-rendered, as another
        flow pipeline might have drawn it: each segment and channel gets a random tone curve
        ``f ** g`` (g log-uniform in [1/1.4, 1.4]) and a random window ``a f + b`` (a in
        [.75, 1], b in [0, 1 - a]). Needs min-max flows in [0, 1] (``data.flow_norm: minmax``).
        0: off.
    hflip: mirror faces and flows at random (u negated), probability 0.5 per sample.
    shift: random translation of faces and flows by up to ``shift`` pixels (0: off).
    class_weights: weight the classification loss by inverse class frequency of the TRAINING
        labels of the fold.
    probe_folds: run the training-sample identity probe (a cross-validated linear classifier on
        the fold's training codes: seconds a fold on small codes, a minute on 1024-d ones) on at
        most this many folds, evenly spread over the run's fold list; 0: off (the default).
        It saturates (it tests subjects the model trained on); the held-out probe
        (``identity_heldout``, subject k-fold runs) is the one that can tell.
    threads: ``torch.set_num_threads`` while training. The models are small: on a busy or
        2-core machine one thread is often faster than two (no OpenMP oversubscription).
    device: "auto" (CUDA when present, else CPU), "cpu", "cuda" or "cuda:N" (an error where
        there is no GPU). GPU results are close to, not equal to, CPU ones (other kernels).
    amp: on CUDA only, mixed precision (bf16 autocast where supported, else fp16 with a
        gradient scaler). Ignored on CPU, which always trains in float32.
    channels_last: store conv weights channels-last (oneDNN's preferred layout). On a 2-core
        CPU (benchmarks/train_speed.py): lfd_tcmen +17% samples/s, off_apexnet and rpca about
        even, ststnet -18%. It changes the numbers at float-rounding level (still deterministic),
        hence off unless asked for.
    """

    protocol: str = "honest"
    select_k: int = 5
    select_grid: Mapping[str, Any] = field(default_factory=dict)
    average_last: int = 0
    tta_hflip: bool = False
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "cosine"
    min_lr_ratio: float = 0.01
    step_epochs: int = 20
    sampler: str = "random"
    pk_subjects: int = 8
    mixup: float = 0.0
    flow_jitter: float = 0.0
    hflip: bool = True
    shift: int = 0
    class_weights: bool = True
    probe_folds: int = 0
    threads: int = 1
    eval_batch_size: int = 128
    device: str = "auto"
    amp: bool = True
    channels_last: bool = False
    tensorboard: bool = False  # also write TensorBoard event files (needs the tensorboard package)

    def __post_init__(self) -> None:
        _choice("train.protocol", self.protocol, PROTOCOLS)
        _choice("train.schedule", self.schedule, SCHEDULES)
        _choice("train.sampler", self.sampler, SAMPLERS)
        if self.sampler == "pk" and not (self.pk_subjects >= 2 and self.batch_size // self.pk_subjects >= 2):
            raise ValueError(
                f"train.sampler pk needs pk_subjects >= 2 and batch_size // pk_subjects >= 2; "
                f"got pk_subjects {self.pk_subjects}, batch_size {self.batch_size}"
            )
        _positive("train.epochs", self.epochs)
        _positive("train.batch_size", self.batch_size)
        _positive("train.threads", self.threads)
        _positive("train.eval_batch_size", self.eval_batch_size)
        if not 0 <= self.average_last <= self.epochs:
            raise ValueError(
                f"train.average_last must be between 0 and train.epochs, got {self.average_last}"
            )
        if self.select_k < 2:
            raise ValueError(f"train.select_k must be >= 2, got {self.select_k}")
        _check_grid(self.select_grid)
        if self.device not in DEVICES and not re.fullmatch(r"cuda:\d+", self.device):
            raise ValueError(
                f"train.device must be one of {', '.join(DEVICES)} or cuda:N; got {self.device!r}"
            )
        if self.lr <= 0:
            raise ValueError(f"train.lr must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            raise ValueError(f"train.weight_decay must be >= 0, got {self.weight_decay}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(
                f"train.min_lr_ratio must be in [0, 1] (a fraction of train.lr), got {self.min_lr_ratio}"
            )
        _positive("train.step_epochs", self.step_epochs)
        _positive("train.pk_subjects", self.pk_subjects)
        if self.probe_folds < 0:
            raise ValueError(f"train.probe_folds must be >= 0, got {self.probe_folds}")
        if self.shift < 0:
            raise ValueError(f"train.shift must be >= 0, got {self.shift}")
        if self.mixup < 0:
            raise ValueError(f"train.mixup must be >= 0, got {self.mixup}")
        if not 0 <= self.flow_jitter <= 1:
            raise ValueError(f"train.flow_jitter must be a probability in [0, 1], got {self.flow_jitter}")


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything a run needs; saved as ``config.yaml`` in the run folder."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0
    name: str = "experiment"

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be an integer in [0, {MAX_SEED}] (numpy's range), got {self.seed!r}")
        _check_finite("model.params", self.model.params)
        if self.train.flow_jitter > 0 and self.data.flow_norm != "minmax":
            raise ValueError(
                f"train.flow_jitter re-renders min-max flow images: it needs data.flow_norm minmax, "
                f"not {self.data.flow_norm!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (YAML-, JSON- and ``torch.load(weights_only=True)``-safe)."""
        d = asdict(self)
        d["model"]["params"] = plain(self.model.params)
        d["train"]["select_grid"] = plain(self.train.select_grid)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str | Path = "<config>") -> ExperimentConfig:
        """Build from a mapping; unknown keys or bad values raise ``LFDError`` naming ``source``."""
        return _build(cls, d, "", source)

    def with_train(self, **updates: Any) -> ExperimentConfig:
        """The config with ``train`` keys replaced (checked like the YAML; ``LFDError`` if bad)."""
        raw = self.to_dict()
        raw["train"].update(updates)
        return ExperimentConfig.from_dict(raw)

    def override(
        self,
        *,
        seed: int | None = None,
        epochs: int | None = None,
        protocol: str | None = None,
        model: str | None = None,
    ) -> ExperimentConfig:
        """The config with the CLI's overrides applied (None keeps the file's value).

        A different ``model`` name drops the file's ``model.params``: they belong to the other model.
        """
        cfg = self
        try:
            if seed is not None:
                cfg = replace(cfg, seed=seed)
            if epochs is not None:
                cfg = replace(cfg, train=replace(cfg.train, epochs=int(epochs)))
            if protocol is not None:
                cfg = replace(cfg, train=replace(cfg.train, protocol=protocol))
            if model is not None and model != cfg.model.name:
                cfg = replace(cfg, model=ModelConfig(name=model, params={}))
        except ValueError as err:
            raise LFDError(str(err)) from err
        return cfg


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, reading ``2e-3`` and ``1E5`` as floats (YAML 1.2) rather than strings
    (YAML 1.1 wants a dot: ``2.0e-3``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_yaml(text: str) -> Any:
    """``text`` read as YAML by the project's loader (``yaml.YAMLError`` when malformed)."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)


def read_yaml(path: Path, what: str = "config") -> dict[str, Any]:
    """The mapping in YAML file ``path`` ({} when empty); a problem raises ``LFDError`` naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise LFDError(f"cannot read {what}: {err.strerror or err}", path=path) from err
    except UnicodeDecodeError as err:
        raise LFDError(f"cannot read {what}: not UTF-8 text (byte {err.start})", path=path) from None
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        row = None if mark is None else mark.line + 1
        raise LFDError(f"invalid YAML: {getattr(err, 'problem', err)}", path=path, row=row) from err
    return {} if raw is None else raw


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read an ``ExperimentConfig`` from YAML; any problem raises ``LFDError`` naming the file.

    overrides: ``KEY=VALUE`` items (``train.lr=2e-3``, ``model.params.w_orth=0``) applied over the
    file, each value read as YAML; checked like the file (errors name ``--set``).
    """
    path = Path(path)
    raw = read_yaml(path)
    config = ExperimentConfig.from_dict(raw, source=path)
    if not overrides:
        return config
    return ExperimentConfig.from_dict(apply_overrides(raw, overrides), source="--set")


def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A copy of the nested mapping ``raw`` with each ``a.b.c=value`` set (value read as YAML;
    missing mappings on the way are created). A malformed item raises ``LFDError``."""
    out = copy.deepcopy(dict(raw))
    for item in overrides:
        key, sep, text = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise LFDError(f"--set expects KEY=VALUE with a dotted KEY (train.lr=0.002), got {item!r}")
        try:
            value = parse_yaml(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        node = out
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, Mapping):
                raise LFDError(f"--set {key}: {'.'.join(parts[: i + 1])} is not a mapping")
            else:
                child = node[part] = dict(child)
            node = child
        node[parts[-1]] = value
    return out


def save_config(config: ExperimentConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")


def _build(cls: type, raw: Any, prefix: str, source: str | Path) -> Any:
    where = prefix.rstrip(".") or "top level"
    if not isinstance(raw, Mapping):
        raise LFDError(f"{where}: expected a mapping, got {type(raw).__name__}", path=source)
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise LFDError(
            f"unknown key(s) {', '.join(prefix + k for k in unknown)}; known: "
            f"{', '.join(prefix + k for k in sorted(known))}",
            path=source,
        )
    kwargs: dict[str, Any] = {}
    for name, value in raw.items():
        hint = hints[name]
        key = prefix + name
        if isinstance(hint, type) and hasattr(hint, "__dataclass_fields__"):
            kwargs[name] = _build(hint, {} if value is None else value, key + ".", source)
        else:
            kwargs[name] = _coerce(key, value, hint, source)
    try:
        return cls(**kwargs)
    except ValueError as err:
        raise LFDError(str(err), path=source) from err


def _coerce(key: str, value: Any, hint: Any, source: str | Path | None) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        hint = next(a for a in options if a is not type(None))
        origin = get_origin(hint)
    if origin is not None and issubclass(origin, Mapping):
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise LFDError(f"{key}: expected a mapping, got {value!r}", path=source)
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise LFDError(f"{key}: expected true or false, got {value!r}", path=source)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise LFDError(f"{key}: expected an integer, got {value!r}", path=source)
        return value
    if hint is float:
        return _number(key, value, source)
    if hint is str:
        if not isinstance(value, str):
            raise LFDError(f"{key}: expected a string, got {value!r}", path=source)
        return value
    return value


def _number(key: str, value: Any, source: str | Path | None) -> float:
    """A float setting: a finite number, or a string that reads as one (``"2e-3"``); ``.inf`` and
    ``.nan`` are refused (no training can use them: an infinite lr diverges, nan compares false)."""
    number = math.nan
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            pass
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    if not math.isfinite(number):
        raise LFDError(f"{key}: expected a finite number, got {value!r} (e.g. 0.002 or 2e-3)", path=source)
    return number


def coerce(key: str, value: Any, hint: Any, source: str | Path | None = None) -> Any:
    """``value`` as a setting of type ``hint`` (bool, int, float, str, a mapping, or an optional
    one): the YAML checks, for whoever builds a dataclass from YAML (``models.base.parse_params``);
    a mismatch raises ``LFDError`` naming ``key`` and ``source``."""
    return _coerce(key, value, hint, source)


def _check_finite(key: str, value: Any) -> None:
    """Every number in ``value`` (nested mappings and lists) is finite; else ``ValueError`` naming its key."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            _check_finite(f"{key}.{k}", v)
    elif isinstance(value, list | tuple):
        for v in value:
            _check_finite(key, v)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{key}: expected a finite number, got {value}")


GRID_TRAIN_KEYS = ("lr", "weight_decay", "batch_size")
GRID_MAX_POINTS = 16


def _check_grid(grid: Mapping[str, Any]) -> None:
    """``train.select_grid``: known keys, non-empty lists of numbers or booleans, <= 16 points."""
    points = 1
    for key, values in grid.items():
        section, _, name = str(key).partition(".")
        if section == "model" and not name.startswith("params."):
            raise ValueError(
                f"train.select_grid: key {key!r}: a model parameter is spelled model.params.<param>, "
                "as --set spells it"
            )
        if section == "model":
            name = name.removeprefix("params.")
        if (
            not name
            or section not in ("train", "model")
            or (section == "train" and name not in GRID_TRAIN_KEYS)
        ):
            raise ValueError(
                f"train.select_grid: key {key!r} must be train.{{{','.join(GRID_TRAIN_KEYS)}}} "
                "or model.params.<param>"
            )
        if not isinstance(values, list | tuple) or not values:
            raise ValueError(f"train.select_grid.{key}: expected a non-empty list of values, got {values!r}")
        if any(not isinstance(v, int | float) for v in values) or len(set(values)) != len(values):
            raise ValueError(f"train.select_grid.{key}: expected distinct numbers, got {list(values)!r}")
        _check_finite(f"train.select_grid.{key}", list(values))
        if section == "train":
            for value in values:  # each point must be a config the training can use
                _check_grid_value(name, value)
        points *= len(values)
    if points > GRID_MAX_POINTS:
        raise ValueError(
            f"train.select_grid has {points} combinations; at most {GRID_MAX_POINTS} "
            "(each costs select_k trainings per fold)"
        )


def _check_grid_value(name: str, value: Any) -> None:
    """A ``train.select_grid`` value of ``train.<name>``: its type, then TrainConfig's own checks."""
    key = f"train.select_grid.train.{name}"
    hint = get_type_hints(TrainConfig)[name]
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{key}: expected integers, got {value!r}")
    try:
        replace(TrainConfig(), **{name: value})
    except ValueError as err:
        raise ValueError(f"{key}: {value!r} is not usable: {err}") from None


def _choice(key: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ValueError(f"{key} must be one of {', '.join(options)}; got {value!r}")


def _positive(key: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{key} must be >= 1, got {value}")
