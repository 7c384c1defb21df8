"""The README as a researcher meets it in the first hour (issue 34): every repository path it
names exists in git, every ``lfd-tcmen`` command it shows parses, and every command that
finishes within seconds on committed files or the shipped real data runs and exits 0.

Commands come from the README's ``bash`` blocks (one a line, ``\\`` continuations joined,
comments dropped) and from its inline code spans that start with a command word. Each is
classified by ``plan`` below: run here (in this process through ``lfd_tcmen.cli.main`` where it is
``lfd-tcmen``; a script in a subprocess), or not run, with the reason (it trains, it needs your own
files or another command's output, it writes into the repository).
A command this file cannot classify fails the test: say here what it is.
"""

from __future__ import annotations

import argparse
import fnmatch
import io
import re
import shlex
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from git_files import tracked
from lfd_tcmen.cli import COMMANDS, build_parser, main

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SHARED = "../shared/data"  # as the README writes the shared data folder (from the repository root)

# --------------------------------------------------------------------------------------- paths
# A path the README names in the repository: a token starting with one of these folders.
REPO_FOLDERS = ("benchmarks", "configs", "results", "docs", "src", "tests", "scripts")
# What the README names outside the repository is not looked for in it (the pattern matches
# REPO_FOLDERS only): the licensed real data beside it (SHARED), and what its commands write,
# which a command reading it cannot run before them:
OUTPUTS = {
    "runs/": "run folders that train and the demo write (git-ignored: /runs/)",
    "features/": "feature stores that prepare and benchmark --root write (git-ignored: /features/)",
    ".demo/": "what make demo renders and prepares",
    "clip/": "what prepare-video writes",
}
# A placeholder in a path stands for any name: <protocol>, <k>, <fold>, NAME, *.
PLACEHOLDER = re.compile(r"<[^>]*>|NAME|\*")


def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def readme_paths(text: str) -> list[str]:
    """Every repository path the README names (a markdown link's target once), in order."""
    found = re.findall(rf"(?<![\w./-])((?:{'|'.join(REPO_FOLDERS)})/[^\s`'\"()\[\],;]*)", text)
    return list(dict.fromkeys(p.rstrip(".:") for p in found))


def in_git(path: str) -> bool:
    """A file in git, or a folder holding one; a placeholder matches any name."""
    pattern = PLACEHOLDER.sub("*", path.rstrip("/"))
    return any(fnmatch.fnmatch(f, pattern) or fnmatch.fnmatch(f, pattern + "/*") for f in tracked())


def _path_params() -> list:
    params = []
    for path in readme_paths(readme_text()):
        params.append(pytest.param(path, id=path))
    return params


def test_the_readme_names_repository_paths():
    paths = readme_paths(readme_text())
    assert len(paths) > 50 and "docs/design.md" in paths and "configs/synthetic.yaml" in paths


@pytest.mark.parametrize("path", _path_params())
def test_every_path_the_readme_names_is_in_the_repository(path):
    assert in_git(path), f"README.md names {path}, which is not in git"


# ------------------------------------------------------------------------------------ commands
@dataclass(frozen=True)
class Plan:
    """What this file does with one README command."""

    action: str  # "run" (in this process), "script" (a subprocess), "not run"
    why: str = ""  # the reason it is not run
    cwd: str = ""  # where it runs: the repository root, else a folder of the shared data or "tmp"
    data: bool = False  # it reads the shared real data (skipped with a message without it)


# Scripts that finish in seconds and write nothing: run as the README writes them.
FAST_SCRIPTS = {"benchmarks/seed_spread.py", "benchmarks/vs_published.sh"}
# The other scripts the README shows, and why they are not run here.
SLOW_SCRIPTS = {
    "benchmarks/apex_spotting.py": "spots the apex of 249 real CASME II clips (minutes)",
    "benchmarks/flow_agreement.py": "computes TV-L1 flow for 142 real clips, one change a row (minutes)",
    "benchmarks/identity_probe.py": "trains every method under a 5-fold split, three seeds (hours)",
    "benchmarks/train_speed.py": "times training steps of every method (minutes)",
    "benchmarks/casme3_synthetic.sh": "renders, prepares and benchmarks a synthetic CAS(ME)^3 set (hours)",
    "benchmarks/one_seed.sh": "trains one seed of a benchmark's rows (about an hour a row)",
    "benchmarks/rows_table.sh": "rewrites seeds.json and ensemble/ in results/megc2019/runs (writes the repository)",
    "benchmarks/flow_methods.sh": "prepares the composite's clips with every flow method (hours)",
    "benchmarks/deploy_gap.py": "trains 24 composite folds and prepares CASME II three ways (minutes)",
    "benchmarks/framing_template.py": "detects landmarks on 252 real CASME II onset frames (seconds to a minute)",
    "benchmarks/file_seeds.sh": "trains the seeds of a benchmark's rows and commits them (hours)",
}
# lfd-tcmen subcommands that take longer than a minute or need what the reader makes first.
SLOW_COMMANDS = {
    "train": "trains a model per fold (minutes to hours)",
    "prepare": "aligns faces and computes TV-L1 flow for a dataset's raw frames (minutes to hours)",
    "prepare-video": "needs your own video (face.mp4)",
    "predict": "needs your own video and a trained run",
    "export": "needs a trained run (runs/...)",
    "evaluate": "needs a trained run and a prepared store",
    "ensemble": "needs finished runs",
}
# A file of the reader's own download, and the folder of the shared data where it is: the
# command runs there, as the README writes it.
USER_FILES = {"CASME2-coding-20190701.xlsx": "annotations/casme2"}
# README commands with a placeholder the prose around them spells out.
EXPANSIONS = {
    "lfd-tcmen compare results/megc2019/runs/off_apexnet__honest results/megc2019/runs/NAME__honest": [
        f"lfd-tcmen compare results/megc2019/runs/off_apexnet__honest results/megc2019/runs/{name}__honest"
        for name in ("lfd_tcmen", "off_apexnet_shared", "ststnet")
    ],
}
# What a command's output must hold where the README quotes its figures.
SHOWS = {"lfd-tcmen score ../shared/data/peer_logs/STSTNet_logfile.txt": ("0.7353", "0.7186")}
_PLACEHOLDER_WORD = re.compile(r"^[A-Z][A-Z0-9_]*(:\d+)?$|<|\[|\||^\.\.\.$")
_COMMAND_WORDS = ("lfd-tcmen", ".venv/bin/python", "bash", "make", "pip")


def readme_commands(text: str) -> list[str]:
    """The README's commands, each once, in order: bash blocks' lines and inline code spans."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.split(r"\s#\s", line, maxsplit=1)[0].strip()
            if line and not line.startswith("#"):
                found.append(line)
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    found += [
        s for s in re.findall(r"`([^`]+)`", prose) if s.split()[0] in _COMMAND_WORDS and len(s.split()) > 1
    ]
    commands = [" ".join(c.split()) for c in found]
    return list(dict.fromkeys(c for e in commands for c in EXPANSIONS.get(e, [e])))


def words_of(command: str) -> list[str]:
    """The command's words, without a redirection of its output."""
    words = shlex.split(command)
    return words[: words.index(">")] if ">" in words else words


def plan(command: str) -> Plan:
    """What to do with ``command`` (module docstring); an unknown kind raises."""
    words = words_of(command)
    head, rest = words[0], words[1:]
    if head in ("make", "pip"):
        return Plan("not run", "builds or installs the environment, or runs the whole suite (minutes)")
    if head in ("bash", ".venv/bin/python"):
        if rest[0] in FAST_SCRIPTS:
            return Plan("script")
        if rest[0] in SLOW_SCRIPTS:
            return Plan("not run", SLOW_SCRIPTS[rest[0]])
        raise AssertionError(f"README script {rest[0]}: add it to FAST_SCRIPTS or SLOW_SCRIPTS")
    assert head == "lfd-tcmen", command
    if any(_PLACEHOLDER_WORD.search(w) for w in rest):
        return Plan("not run", "placeholders (a run, a host, a list of choices) stand for the reader's own")
    if rest != ["--help"] and not parses(rest):
        assert rest[0] in COMMANDS and not any("/" in w for w in rest), (
            f"README command does not parse: {command}"
        )
        return Plan("not run", "names a subcommand (and an option) in prose: checked to exist, not run")
    sub = rest[0]
    if sub in SLOW_COMMANDS and "--list-folds" not in rest:
        return Plan("not run", SLOW_COMMANDS[sub])
    if sub == "benchmark" and "--list" not in rest:
        return Plan("not run", "trains every row of the benchmark (hours)")
    output = next((o for o in OUTPUTS if any(w.startswith(o) for w in rest)), None)
    if output is not None:
        return Plan("not run", f"reads {output}, {OUTPUTS[output]}, before anything wrote it")
    cwd = next((folder for name, folder in USER_FILES.items() if name in rest), "")
    if rest[:2] == ["config", "init"]:
        cwd = "tmp"  # it writes the copy into the working folder
    # benchmark --list loads the benchmark's data (the composite, from the shared data)
    data = bool(cwd and cwd != "tmp") or sub == "benchmark" or any(w.startswith(SHARED) for w in rest)
    return Plan("run", "", cwd, data=data)


def parses(args: list[str]) -> bool:
    """Whether the command's parser accepts ``args`` (its complaint kept off the test's output)."""
    try:
        with redirect_stderr(io.StringIO()), redirect_stdout(io.StringIO()):
            build_parser([args[0]]).parse_args(args)
    except SystemExit:
        return False
    return True


def _command_params(kinds: tuple[str, ...]) -> list:
    params = []
    for command in readme_commands(readme_text()):
        try:
            p = plan(command)
        except AssertionError:  # test_every_readme_command_is_classified says which and why
            continue
        if p.action not in kinds:
            continue
        params.append(pytest.param(command, p, id=command[:120]))
    return params


def test_every_readme_command_is_classified():
    commands = readme_commands(readme_text())
    assert len(commands) > 30
    plans = {c: plan(c) for c in commands}  # raises for a command of an unknown kind
    assert sum(p.action in ("run", "script") for p in plans.values()) >= 8
    text = readme_text()
    for command in EXPANSIONS:  # an expansion whose command left the README is stale
        assert command in " ".join(text.split()), f"EXPANSIONS names a command the README lost: {command}"


@pytest.mark.parametrize(
    "command",
    [c for c in readme_commands(readme_text()) if c.startswith("lfd-tcmen ")],
    ids=lambda c: c[:120],
)
def test_every_lfd_tcmen_command_parses(command):
    """Run or not, each command's subcommand and options exist: the real parser accepts it. A
    span that names a subcommand in prose (``lfd-tcmen data summary --root``) names real ones; a
    command with placeholders (``prepare ... --workers 8``) names a real subcommand."""
    args = words_of(command)[1:]
    if args == ["--help"] or parses(args):
        return
    assert args[0] in COMMANDS, f"unknown subcommand: {command}"
    if any(_PLACEHOLDER_WORD.search(w) for w in args):
        return
    first_option = next((i for i, w in enumerate(args) if w.startswith("-")), len(args))
    names, options = args[:first_option], [w for w in args if w.startswith("--")]
    helps = _help(names)
    assert all(o in helps for o in options), f"{command}: an option is unknown ({helps})"


def _help(names: list[str]) -> str:
    """The help text of subcommand ``names`` (``["data", "summary"]``)."""
    target = build_parser([names[0]])
    for name in names:
        (action,) = [a for a in target._actions if isinstance(a, argparse._SubParsersAction)]
        target = action.choices[name]
    return target.format_help()


@pytest.mark.parametrize(("command", "how"), _command_params(("run",)))
def test_fast_commands_run_as_written(command, how, request, tmp_path, monkeypatch, capsys):
    words = words_of(command)[1:]
    cwd = tmp_path if how.cwd == "tmp" else REPO
    if how.data:
        data = request.getfixturevalue("shared_data")  # skips with a message without the real data
        words = [str(data) + w[len(SHARED) :] if w.startswith(SHARED) else w for w in words]
        cwd = data / how.cwd if how.cwd else REPO
    monkeypatch.chdir(cwd)
    try:
        code = main(words)
    except SystemExit as stop:  # --help
        code = stop.code
    out, err = capsys.readouterr()
    assert code == 0, f"{command}: exit {code}\n{err}"
    assert out.strip(), f"{command}: printed nothing on stdout"
    for shown in SHOWS.get(command, ()):
        assert shown in out, f"{command}: the README quotes {shown}, the command printed\n{out}"


@pytest.mark.parametrize(("command", "how"), _command_params(("script",)))
def test_fast_scripts_run_as_written(command, how, request):
    if "vs_published" in command:
        request.getfixturevalue("shared_data")  # it reads STSTNet's log from there
        if not (REPO / ".venv" / "bin" / "lfd-tcmen").is_file():
            pytest.skip("vs_published.sh runs .venv/bin/lfd-tcmen: no .venv here (make test makes it)")
    words = words_of(command)
    if words[0] == ".venv/bin/python":
        words[0] = sys.executable
    done = subprocess.run(words, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stderr}"
    assert done.stdout.strip(), command
