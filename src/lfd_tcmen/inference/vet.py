"""What a graph export may hold before torch opens it: nothing that runs code on this machine.

``predict`` runs exports a user may have been sent, and torch's loaders run code from the file:

- ``torch.export.load`` (.pt2) unpickles tensors and sample inputs with ``weights_only=False``
  (or falls back to it), loads AOTInductor shared libraries, ``exec``s the graph's guard code,
  evaluates its shape expressions with ``sympy.sympify`` (Python ``eval``) and looks each node's
  target up by name (``torch.os.system`` is a name).
- ``torch.jit.load`` (TorchScript) runs a module's ``__setstate__`` while loading, and its
  operators include ``aten::save``, which writes a file wherever it is told.

So an archive is read as data first (zip members, JSON, Python syntax trees; never unpickled,
never run) and refused, naming the file and the member, unless it holds only what
``lfd-tcmen export`` writes: for .pt2, tensors stored raw, sample inputs that torch's
weights-only unpickler reads, no guard code, shape expressions of symbols and integers, and
nodes calling ATen operators or plain arithmetic; for TorchScript, code without
``__setstate__`` or a file-touching operator. TorchScript's pickles are read by torch's C++
unpickler, which builds only TorchScript types (a foreign class is an error, not a call).
"""

from __future__ import annotations

import ast
import io
import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import torch

from lfd_tcmen.core.errors import LFDError

# The members torch.export.save writes for one program, below the archive's top folder.
_PT2_MEMBERS = re.compile(
    r"archive_format|archive_version|byteorder|\.data/version|\.data/serialization_id"
    r"|models/\w+\.json|data/sample_inputs/\w+\.pt"
    r"|data/weights/\w+_weights_config\.json|data/weights/weight_\d+"
    r"|data/constants/\w+_constants_config\.json|data/constants/tensor_\d+"
)
# Node targets: ATen operators (``torch.ops.aten.conv2d.default``) and Python's arithmetic.
_ARITHMETIC = "getitem|add|sub|mul|floordiv|truediv|mod|neg|pow|eq|ne|lt|le|gt|ge|and_|or_|not_"
_TARGET = re.compile(rf"torch\.ops\.aten\.[a-z][a-z0-9_]*\.[A-Za-z][A-Za-z0-9_]*|_operator\.({_ARITHMETIC})")
# Shape expressions as sympy's srepr writes them: symbols, integers, sympy's arithmetic.
_SYMBOL = re.compile(r"Symbol\('[a-z]+\d+'(, (positive|integer|nonnegative|real|finite)=(True|False))*\)")
_SHAPE_EXPR = re.compile(
    r"([\d\s+\-*/(),]|Add|Mul|Pow|Integer|Rational|Max|Min|Abs|FloorDiv|CeilDiv|CleanDiv"
    r"|Mod|PythonMod|FloorToInt|CeilToInt)*"
)
# TorchScript: operators that reach the file system; operator namespaces beyond ATen and prim.
_TS_FILE_OPS = {"save", "from_file"}
_TS_NAMESPACES = {"aten", "prim"}


def vet_exported(path: Path) -> None:
    """Raise ``LFDError`` unless the .pt2 archive ``path`` holds only what lfd-tcmen exports."""
    with _archive(path, "torch.export") as archive:
        for member in archive.namelist():
            inner = member.split("/", 1)[-1]
            if not _PT2_MEMBERS.fullmatch(inner):
                _refuse(path, member, "is not a member torch.export.save writes for a plain graph")
            if inner.endswith("_config.json"):
                _vet_payload_config(path, member, _json(archive, path, member))
            elif inner.startswith("data/sample_inputs/"):
                _vet_weights_only(path, member, archive.read(member))
            elif inner.startswith("models/"):
                _vet_program(path, member, _json(archive, path, member))


def vet_torchscript(path: Path) -> None:
    """Raise ``LFDError`` unless the TorchScript archive ``path`` has code that neither runs
    while loading (``__setstate__``) nor touches files."""
    with _archive(path, "TorchScript") as archive:
        code = [m for m in archive.namelist() if "/code/" in m and m.endswith(".py")]
        if not code:
            _refuse(path, "code/", "is missing: not a TorchScript archive")
        for member in code:
            try:
                tree = ast.parse(archive.read(member).decode("utf-8"))
            except (SyntaxError, UnicodeDecodeError, ValueError):
                _refuse(path, member, "is not TorchScript code")
            for node in ast.walk(tree):
                why = _torchscript_hazard(node)
                if why:
                    _refuse(path, member, why)


def _torchscript_hazard(node: ast.AST) -> str:
    if isinstance(node, ast.FunctionDef) and node.name == "__setstate__":
        return "defines __setstate__, code torch.jit.load would run"
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        name = node.value.rsplit("::", 1)[-1]
    if name in _TS_FILE_OPS:
        return f"calls {name!r}, an operator that reaches the file system"
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ops":
        if node.attr not in _TS_NAMESPACES:
            return f"calls operators of namespace {node.attr!r} (only aten and prim are run)"
    return ""


def _vet_payload_config(path: Path, member: str, config: Any) -> None:
    entries = config.get("config") if isinstance(config, dict) else None
    if not isinstance(entries, dict):
        _refuse(path, member, "is not a tensor list")
    for name, entry in entries.items():
        if not isinstance(entry, dict) or entry.get("use_pickle") is not False:
            _refuse(path, member, f"stores {name} pickled (unpickling it could run code)")
        if not re.fullmatch(r"weight_\d+|tensor_\d+", str(entry.get("path_name"))):
            _refuse(path, member, f"stores {name} as {entry.get('path_name')!r}, not a raw tensor")


def _vet_weights_only(path: Path, member: str, data: bytes) -> None:
    """torch reads sample inputs with weights_only=True first and falls back to False: what the
    safe reader refuses is refused here, so the fallback never happens."""
    try:
        torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception:  # refused by the safe reader, or damaged: either way not loaded
        _refuse(path, member, "holds objects other than plain tensors (unpickling them could run code)")


def _vet_program(path: Path, member: str, program: Any) -> None:
    if not isinstance(program, dict):
        _refuse(path, member, "is not a serialized graph")
    if program.get("guards_code"):
        _refuse(path, member, "holds Python guard code, which loading would run")
    for key, value in _items(program):
        if key == "target" and isinstance(value, str) and not _TARGET.fullmatch(value):
            _refuse(path, member, f"calls {value[:80]!r}, not an ATen operator")
        if key == "expr_str" and not (
            isinstance(value, str) and _SHAPE_EXPR.fullmatch(_SYMBOL.sub("", value))
        ):
            _refuse(path, member, f"has a shape expression that is not arithmetic: {str(value)[:80]!r}")


def _items(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of a JSON document, at any depth."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
            yield from item.items()
        elif isinstance(item, list):
            stack.extend(item)


@contextmanager
def _archive(path: Path, kind: str) -> Iterator[zipfile.ZipFile]:
    """The export as an open zip archive; ``LFDError`` naming it when it is not one, or when a
    member cannot be read back (a damaged stream)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise LFDError(f"not a {kind} archive ({type(err).__name__}: {err})", path) from None
    try:
        with archive:
            yield archive
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise LFDError(f"damaged {kind} archive ({type(err).__name__}: {err})", path) from None


def _json(archive: zipfile.ZipFile, path: Path, member: str) -> Any:
    try:
        return json.loads(archive.read(member))
    except ValueError as err:
        _refuse(path, member, f"is not readable JSON ({type(err).__name__})")


def _refuse(path: Path, member: str, why: str) -> NoReturn:
    raise LFDError(f"refused to load the export: {member} {why}", path)
