"""inference.vet: an export is read as data and refused before torch would run anything in it."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.inference.vet import vet_exported, vet_torchscript


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.linear(x), dim=-1)


@pytest.fixture(scope="module")
def dynamic_pt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A genuine .pt2 with a dynamic batch: its shapes are sympy expressions of a symbol."""
    batch = torch.export.Dim("batch", min=1, max=64)
    program = torch.export.export(_Tiny(), (torch.rand(2, 3),), dynamic_shapes=({0: batch},))
    path = tmp_path_factory.mktemp("pt2") / "tiny.pt2"
    torch.export.save(program, str(path))
    return path


def _edited(source: Path, out: Path, edit: Callable[[dict], None]) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w") as zout:
        for member in zin.namelist():
            data = zin.read(member)
            if member.endswith("/models/model.json"):
                program = json.loads(data)
                edit(program)
                data = json.dumps(program).encode()
            zout.writestr(member, data)
    return out


def test_a_genuine_dynamic_export_passes(dynamic_pt2: Path) -> None:
    vet_exported(dynamic_pt2)
    with zipfile.ZipFile(dynamic_pt2) as archive:
        model = next(m for m in archive.namelist() if m.endswith("models/model.json"))
        assert "Symbol(" in archive.read(model).decode()  # the expressions the grammar admits


def _set_target(program: dict) -> None:
    program["graph_module"]["graph"]["nodes"][0]["target"] = "torch.os.system"


def _set_guard(program: dict) -> None:
    program["guards_code"] = ["__import__('os').system('true')"]


def _set_expr(program: dict) -> None:
    values = program["graph_module"]["graph"]["tensor_values"].values()
    size = next(s for v in values for s in v["sizes"] if "as_expr" in s)
    size["as_expr"]["expr_str"] = "Symbol('s0').__class__"


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (_set_target, "calls 'torch.os.system', not an ATen operator"),
        (_set_guard, "guard code"),
        (_set_expr, "shape expression that is not arithmetic"),
    ],
)
def test_a_graph_naming_python_is_refused(dynamic_pt2: Path, tmp_path: Path, edit, says: str) -> None:
    path = _edited(dynamic_pt2, tmp_path / "x.pt2", edit)
    with pytest.raises(LFDError, match=says) as err:
        vet_exported(path)
    assert str(path) in str(err.value) and "models/model.json" in str(err.value)


def test_an_aotinductor_library_is_refused(dynamic_pt2: Path, tmp_path: Path) -> None:
    path = tmp_path / "aoti.pt2"
    path.write_bytes(dynamic_pt2.read_bytes())
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("tiny/data/aotinductor/model/model.so", b"\x7fELF")
    with pytest.raises(LFDError, match="aotinductor/model/model.so is not a member"):
        vet_exported(path)


def test_not_an_archive_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "model.pt2"
    path.write_text("not a zip\n")
    with pytest.raises(LFDError, match="not a torch.export archive"):
        vet_exported(path)
    with pytest.raises(LFDError, match="not a TorchScript archive"):
        vet_torchscript(path)


class _Saves(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch.save(x, "/dev/null")
        return x


def test_torchscript_writing_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "saves.ts"
    torch.jit.save(torch.jit.script(_Saves()), str(path))
    with pytest.raises(LFDError, match="calls 'save', an operator that reaches the file system"):
        vet_torchscript(path)


def test_traced_torchscript_passes(tmp_path: Path) -> None:
    path = tmp_path / "tiny.ts"
    torch.jit.save(torch.jit.trace(_Tiny(), torch.rand(2, 3)), str(path))
    vet_torchscript(path)
