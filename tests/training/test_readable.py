"""training/ stays readable: no function over 60 lines or 6 parameters without the reason in its
docstring (the sentence that counts them, e.g. "Eight parameters: ...")."""

from __future__ import annotations

import ast
from pathlib import Path

TRAINING = Path(__file__).resolve().parents[2] / "src" / "lfd_tcmen" / "training"


def test_functions_are_short_and_take_few_parameters_or_say_why():
    unexplained = []
    for path in sorted(TRAINING.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            a = node.args
            params = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs if p.arg not in ("self", "cls")]
            lines = node.end_lineno - node.lineno + 1
            reason = "parameters:" in (ast.get_docstring(node) or "")
            if (lines > 60 or len(params) > 6) and not reason:
                unexplained.append(
                    f"{path.name}:{node.lineno} {node.name}: {lines} lines, {len(params)} parameters"
                )
    assert not unexplained, "\n".join(unexplained)
