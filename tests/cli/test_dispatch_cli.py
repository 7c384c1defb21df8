"""The command's front: ``--help`` and ``--version`` import no subcommand (nor torch), a named
subcommand is imported and dispatched, and the table of subcommands matches their modules."""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import textwrap

import pytest

import lfd_tcmen
from lfd_tcmen.cli import COMMANDS, build_parser, main, named_command

# What `lfd-tcmen --help` / `--version` may not load: the subcommands and the heavy libraries.
_HEAVY = ("torch", "cv2", "numpy", "scipy", "lfd_tcmen.cli.train", "lfd_tcmen.models")


def _loaded_after(argv: list[str]) -> tuple[str, list[str]]:
    """Run the command in a fresh interpreter; its stdout and which of _HEAVY it imported."""
    code = (
        "import sys\n"
        "from lfd_tcmen.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('LOADED', [m for m in {_HEAVY!r} if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out, _, loaded = done.stdout.rpartition("LOADED ")
    return out, ast.literal_eval(loaded)  # the list the child printed


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_help_and_version_import_no_subcommand_and_no_torch(argv):
    out, loaded = _loaded_after(argv)
    assert loaded == [], f"lfd-tcmen {argv[0]} imported {loaded}"
    if argv == ["--help"]:
        for name, (_, summary) in COMMANDS.items():
            assert name in out and summary.split()[0] in out


def test_the_package_front_door_resolves_every_public_name_on_use():
    for name in lfd_tcmen.__all__:
        assert getattr(lfd_tcmen, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        lfd_tcmen.not_a_name  # noqa: B018


def test_the_table_matches_the_subcommands_modules():
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    registered = {a.dest: a.help for a in sub._choices_actions}
    assert registered == {name: summary for name, (_, summary) in COMMANDS.items()}


def test_the_named_subcommand_is_found_before_parsing(capsys):
    assert named_command(["compare", "a", "b"]) == "compare"
    assert named_command(["--version"]) is None and named_command(["trian"]) is None
    assert main(["data", "datasets"]) == 0 and "casme2" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        main(["trian"])
    assert done.value.code == 2 and "invalid choice: 'trian'" in capsys.readouterr().err


def test_torch_log_lines_do_not_reach_the_terminal_while_a_command_runs():
    """torch prints its warnings as glog lines on stderr (``W1207 ... Unable to load package``,
    from torch.export.load given a name not ending .pt2); a command shows none of them. In a
    fresh interpreter: torch's handler keeps the stderr it found at import."""
    code = textwrap.dedent(
        """
        import logging, sys
        import lfd_tcmen.cli.compare as compare_cli  # imports torch, which sets up its logging
        from lfd_tcmen.cli import main

        log = logging.getLogger("torch.export.pt2_archive._package")
        compare_cli.run = lambda args: log.warning("during the command") or 0
        log.warning("before the command")
        code = main(["compare", "a", "b"])
        log.warning("after the command")
        sys.exit(code)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "before the command" in done.stderr and "after the command" in done.stderr  # torch's glog lines
    assert "during the command" not in done.stderr
