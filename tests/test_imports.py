"""The package's structure: every module imports on its own, imports sit at the top, no cycles,
and arrows point down the data flow (a package imports only packages before it in LAYERS)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "lfd_tcmen"

# The data flow, top-level packages and modules in order: each may import only those before it
# (and itself). Modules in one group do not import each other. A dotted entry places one module of
# a package in its own layer (the benchmark config validates names against the model registry).
LAYERS = [
    ("version",),
    ("core",),
    ("parallel",),
    ("config",),
    ("data",),
    ("synth",),
    ("preprocess",),
    ("models",),
    ("evaluation",),
    ("analysis",),
    ("config.benchmark",),
    ("training",),
    ("report",),
    ("runs",),
    ("inference",),
    ("cli", "__main__"),
]
# Deliberately deferred third-party imports: heavy or optional, and needed by a few paths only.
DEFERRABLE = {
    "ray",
    "dlib",
    "sklearn",
    "matplotlib",
    "threadpoolctl",
    "openpyxl",
    "xlrd",
    "safetensors",
    "onnxruntime",
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> tuple[list[str], list[tuple[int, str]]]:
    """(package modules imported at the top level, (line, name) of every import inside a block)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top, nested = [], []
    top_nodes = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif node.module and node.module.startswith("lfd_tcmen") or node.level:
            base = node.module or ""
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            names = [node.module or ""]
        if id(node) in top_nodes:
            top += [n for n in names if n.startswith("lfd_tcmen")]
        else:
            nested += [(node.lineno, n) for n in names]
    return top, nested


def _layer(module: str) -> int:
    parts = module.split(".")[1:]
    if not parts:
        return len(LAYERS)  # the package's own front door sits above everything
    for depth in range(len(parts), 0, -1):  # the longest dotted entry that names the module
        head = ".".join(parts[:depth])
        for i, group in enumerate(LAYERS):
            if head in group:
                return i
    raise StopIteration(module)


def _commented(lines: list[str], line: int) -> bool:
    """A comment on the import's line, or on the line before its block of imports."""
    i = line - 1
    while i > 0 and lines[i - 1].strip().startswith(("import ", "from ")):
        i -= 1
    return "#" in lines[line - 1] or lines[i - 1].strip().startswith("#")


def test_every_module_belongs_to_a_layer():
    for module in MODULES:
        _layer(module)  # StopIteration: a new top-level module or package missing from LAYERS


def test_imports_are_at_the_top_except_deferred_heavy_dependencies():
    bad = []
    for module, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for line, name in _imports(path)[1]:
            deferred = name.split(".")[0] in DEFERRABLE
            if not (deferred and _commented(lines, line)):
                bad.append(f"{module}:{line} imports {name} inside a block")
        if "TYPE_CHECKING" in path.read_text(encoding="utf-8"):
            bad.append(f"{module}: TYPE_CHECKING imports hide a dependency")
    assert not bad, "\n".join(bad)


def test_arrows_point_down_the_data_flow_and_there_is_no_cycle():
    graph = {module: set(_imports(path)[0]) - {module} for module, path in MODULES.items()}
    upward = [
        f"{module} -> {dep}"
        for module, deps in graph.items()
        for dep in deps
        if dep in MODULES and _layer(dep) > _layer(module)
    ]
    assert not upward, "\n".join(upward)
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        if state.get(module) == 2:
            return
        assert state.get(module) != 1, "import cycle: " + " -> ".join(trail + [module])
        state[module] = 1
        for dep in sorted(graph.get(module, ())):
            if dep in MODULES:
                visit(dep, trail + [module])
        state[module] = 2

    for module in graph:
        visit(module, [])


@pytest.mark.slow
def test_every_module_imports_on_its_own_in_a_fresh_interpreter():
    """Each module in a fresh child of an interpreter that holds only the third-party packages."""
    code = textwrap.dedent(
        """
        import importlib, os, sys
        import cv2, numpy, scipy, torch, yaml, tqdm, openpyxl, xlrd, cloudpickle, threadpoolctl  # no lfd_tcmen yet
        import matplotlib.backends.backend_agg, matplotlib.figure, tqdm.auto, torch.nn
        assert not [m for m in sys.modules if m.startswith("lfd_tcmen")]
        failed = []
        for name in sys.argv[1:]:
            pid = os.fork()
            if pid == 0:
                try:
                    importlib.import_module(name)
                except BaseException as err:
                    print(f"{name}: {type(err).__name__}: {err}", flush=True)
                    os._exit(1)
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            if status:
                failed.append(name)
        sys.exit(1 if failed else 0)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *(m for m in MODULES if not m.endswith("__main__"))],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_readme_layout_names_every_module_and_package():
    readme = (PACKAGE.parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    entries = [line for line in block.splitlines() if line.startswith("  ") and not line.startswith("   ")]
    named = {line.split()[0] for line in entries}  # an entry's name at column 2; descriptions below it
    named = {n for n in named if n.endswith((".py", "/"))}
    present = {p.name + "/" if p.is_dir() else p.name for p in PACKAGE.iterdir()}
    present = {n for n in present if n.endswith((".py", "/")) and n not in ("__main__.py", "__pycache__/")}
    assert named == present
