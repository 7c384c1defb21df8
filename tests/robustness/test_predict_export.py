"""``lfd-tcmen predict --checkpoint EXPORT``: crafted graph exports (issue 35 item 1).

Each case starts from a genuine export of the session run's fold model (``lfd-tcmen export``,
made once per module) and plants, where torch's loader would run it, a payload that creates a
marker file: a pickle (sample inputs, a weight), a shape expression (``sympy.sympify`` is
``eval``), a TorchScript ``__setstate__``. ``predict`` must refuse the file in one line naming
it, and the marker must not appear.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from lfd_tcmen.inference.export import SUFFIXES, export_checkpoint, sidecar
from robustness.cases import Case, Env, Given, check, params
from robustness.inputs import Inputs


@pytest.fixture(scope="module")
def genuine_export(inputs: Inputs, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``fmt`` -> the session checkpoint exported as ``fmt`` (made on first use, seconds)."""
    made: dict[str, Path] = {}

    def export(fmt: str) -> Path:
        if fmt not in made:
            out = tmp_path_factory.mktemp(fmt) / f"model{SUFFIXES[fmt]}"
            made[fmt] = export_checkpoint(inputs.checkpoint, fmt, out)
        return made[fmt]

    return export


class _Payload:
    """Pickles to a call of os.system: loading it must not run it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def _marker(env: Env) -> Path:
    return env.tmp / "code-ran"


def _pickled_payload(env: Env) -> bytes:
    buffer = io.BytesIO()
    torch.save({"inputs": _Payload(_marker(env))}, buffer)
    return buffer.getvalue()


def _predict(env: Env, path: Path, *names: str) -> Given:
    """predict on clip 0's key frames with the export ``path``; no marker may appear."""
    argv = ["predict", "--checkpoint", str(path)]
    for role in ("onset", "apex", "offset"):
        argv += [f"--{role}", str(env.inputs.frame(0, role))]

    def verify() -> None:
        assert not _marker(env).exists(), "loading the export ran code"

    return Given(argv, (str(path), *names), verify)


def _crafted(env: Env, fmt: str, name: str, edit: Callable[[str, bytes], bytes]) -> Path:
    """A copy of the genuine ``fmt`` export as ``name`` (with its sidecar), each member's bytes
    passed through ``edit(member, data)``."""
    source = env.request.getfixturevalue("genuine_export")(fmt)
    path = env.tmp / name
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w") as zout:
        for member in zin.namelist():
            zout.writestr(member, edit(member, zin.read(member)))
    shutil.copy(sidecar(source), sidecar(path))
    return path


# ----------------------------------------------------------------------------- torch.export (.pt2)
def pt2_pickled_inputs(env: Env) -> Given:  # torch falls back to weights_only=False for them
    payload = _pickled_payload(env)
    path = _crafted(env, "exported", "model.pt2", lambda m, d: payload if "/sample_inputs/" in m else d)
    return _predict(env, path, "data/sample_inputs/model.pt")


def pt2_pickled_weight(env: Env) -> Given:  # a weight marked use_pickle: torch.load(weights_only=False)
    payload = _pickled_payload(env)

    def edit(member: str, data: bytes) -> bytes:
        if member.endswith("/data/weights/weight_0"):
            return payload
        if member.endswith("_weights_config.json"):
            config = json.loads(data)
            for entry in config["config"].values():
                if entry["path_name"] == "weight_0":
                    entry["use_pickle"] = True
            return json.dumps(config).encode()
        return data

    return _predict(env, _crafted(env, "exported", "model.pt2", edit), "model_weights_config.json")


def pt2_shape_expression_code(env: Env) -> Given:  # sympy.sympify evaluates the string
    code = f"__import__('os').system('touch {_marker(env)}')"

    def edit(member: str, data: bytes) -> bytes:
        if not member.endswith("/models/model.json"):
            return data
        program = json.loads(data)
        values = program["graph_module"]["graph"]["tensor_values"]
        first = next(iter(values.values()))
        first["sizes"][0] = {"as_expr": {"expr_str": code, "hint": {"as_int": 1}}}
        return json.dumps(program).encode()

    return _predict(env, _crafted(env, "exported", "model.pt2", edit), "models/model.json")


def pt2_sidecar_beside_a_pickle(env: Env) -> Given:  # a genuine FILE.json routes model.pt to the .pt2 loader
    genuine = env.request.getfixturevalue("genuine_export")("exported")
    path = env.tmp / "model.pt"
    path.write_bytes(_pickled_payload(env))
    shutil.copy(sidecar(genuine), sidecar(path))
    return _predict(env, path, "data.pkl")


# ----------------------------------------------------------------------------- TorchScript
class _Setstate(nn.Module):
    """A scripted module whose ``__setstate__`` (run by torch.jit.load) writes ``marker``."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker

    def forward(self, faces: torch.Tensor, flows: torch.Tensor) -> torch.Tensor:
        return faces.sum(dim=(1, 2, 3)).unsqueeze(1)

    @torch.jit.export
    def __getstate__(self) -> tuple[str, bool]:
        return (self.marker, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[str, bool]) -> None:
        torch.save(torch.zeros(1), state[0])
        self.marker = state[0]
        self.training = state[1]


def torchscript_setstate(env: Env) -> Given:
    genuine = env.request.getfixturevalue("genuine_export")("torchscript")
    path = env.tmp / "model.ts"
    torch.jit.save(torch.jit.script(_Setstate(str(_marker(env)))), str(path))
    shutil.copy(sidecar(genuine), sidecar(path))
    return _predict(env, path, "__setstate__")


def torchscript_pickled_data(env: Env) -> Given:  # torch's C++ unpickler builds no foreign class
    payload = zipfile.ZipFile(io.BytesIO(_pickled_payload(env)))
    pickled = next(payload.read(m) for m in payload.namelist() if m.endswith("/data.pkl"))
    path = _crafted(env, "torchscript", "model.ts", lambda m, d: pickled if m.endswith("/data.pkl") else d)
    return _predict(env, path)


CASES = [
    Case("pt2-pickled-sample-inputs", pt2_pickled_inputs, 2, "holds objects other than plain tensors"),
    Case("pt2-pickled-weight", pt2_pickled_weight, 2, "pickled"),
    Case(
        "pt2-shape-expression-runs-code",
        pt2_shape_expression_code,
        2,
        "shape expression that is not arithmetic",
    ),
    Case(
        "pt2-sidecar-beside-a-pickle",
        pt2_sidecar_beside_a_pickle,
        2,
        "is not a member torch.export.save writes",
    ),
    Case("torchscript-setstate-runs-code", torchscript_setstate, 2, "code torch.jit.load would run"),
    Case("torchscript-pickled-data", torchscript_pickled_data, 2, "cannot load the torchscript export"),
]


@pytest.mark.parametrize("case", params(*CASES))
def test_predict_export(case: Case, env: Env, capfd: pytest.CaptureFixture[str]) -> None:
    assert case.fragment in check(case, env, capfd)
