"""The experiment configs shipped with the package (``lfd_tcmen/configs/*.yaml``), and the benchmark
configs (``lfd_tcmen/benchmark_configs/*.yaml``).

In a checkout ``src/lfd_tcmen/configs`` is a link to the repository's ``configs/`` folder and
``src/lfd_tcmen/benchmark_configs`` one to ``benchmarks/``, the one place the files are written;
the wheel holds copies of their YAML files (package data). ``shipped_file`` turns a bare name
(``synthetic``, ``megc2019``) into the shipped file, so ``train --config`` and ``benchmark
--config`` take what ``config show`` takes. ``write_config`` copies
one, comments kept, with ``data.path`` made absolute, so the copy runs from any folder.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from lfd_tcmen.config.experiment import load_config
from lfd_tcmen.core.errors import LFDError

_DATA_PATH = re.compile(r"^(\s+)path:[^\n]*$")


def config_names() -> list[str]:
    """Names of the shipped configs (file stems), sorted."""
    return sorted(f.name.removesuffix(".yaml") for f in _folder().iterdir() if f.name.endswith(".yaml"))


def config_text(name: str) -> str:
    """The YAML text of shipped config ``name`` (``synthetic`` or ``synthetic.yaml``)."""
    stem = name.removesuffix(".yaml")
    if stem not in config_names():
        raise LFDError(f"no shipped config {name!r}; shipped: {', '.join(config_names())}")
    return (_folder() / f"{stem}.yaml").read_text(encoding="utf-8")


def config_summary(name: str) -> str:
    """The first comment line of a shipped config: what it is for."""
    for line in config_text(name).splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def shipped_config_home() -> Path:
    """The folder above the shipped configs: in a checkout the repository root, where a config's
    relative ``data.path`` is also looked up (as for ``configs/*.yaml``)."""
    return Path(str(_folder())).resolve().parent


def write_config(name: str, dest: Path, data_path: Path | None) -> Path:
    """Copy shipped config ``name`` to ``dest`` (a new file), comments kept, with ``data.path``
    set to ``data_path`` (absolute) where given; the copy is loaded back as a check."""
    if dest.exists():
        raise LFDError("already exists; choose another path or remove it", path=dest)
    text = config_text(name)
    if data_path is not None:
        text = _with_data_path(text, data_path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    load_config(dest)
    return dest


def _with_data_path(text: str, data_path: Path) -> str:
    """``text`` with the ``path:`` key of its top-level ``data:`` block set to ``data_path``."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "data:"), None)
    if start is None:
        return text.rstrip("\n") + f"\ndata:\n  path: {json.dumps(str(data_path))}\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i][:1] not in ("", " ", "#")), len(lines))
    value = json.dumps(str(data_path))  # a JSON string is a valid YAML scalar
    note = "  # data.path made absolute by 'lfd-tcmen config init'"
    for i in range(start + 1, end):
        match = _DATA_PATH.match(lines[i])
        if match:
            lines[i : i + 1] = [note, f"{match.group(1)}path: {value}"]
            break
    else:
        lines[start + 1 : start + 1] = [note, f"  path: {value}"]
    return "\n".join(lines) + "\n"


def shipped_file(name: str, folder: str = "configs") -> Path | None:
    """The shipped YAML ``name`` (a stem or ``stem.yaml``, no folder part) of ``folder`` ("configs"
    or "benchmark_configs") as a file path; None when the package ships none of that name."""
    stem = name.removesuffix(".yaml")
    if "/" in stem or "\\" in stem:
        return None
    path = Path(str(_folder(folder) / f"{stem}.yaml"))
    return path if path.is_file() else None


def _folder(folder: str = "configs") -> Traversable:
    return resources.files("lfd_tcmen") / folder
