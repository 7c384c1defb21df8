"""Options shared across subcommands: help on every option, ``--set``, ``--json``, fold names,
``config``, ``data datasets``, ``--version``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import yaml

from lfd_tcmen.cli import build_parser, main
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.store import prepare_dataset
from lfd_tcmen.synth.render import render_dataset
from lfd_tcmen.version import __version__

CONFIG = """\
name: tiny
seed: 1
data: {{source: store, path: {store}, face_size: 32, flow_size: 8}}
model:
  name: lfd_tcmen
  params: {{identity_dim: 8, motion_dim: 8, flow_dim: 16, face_width: 4, flow_width: 4, face_resolution: 16}}
train: {{epochs: 1, batch_size: 4, threads: 1, lr: 1e-3}}
"""


def _parsers(parser: argparse.ArgumentParser, path: str = "lfd-tcmen"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def test_every_option_of_every_subcommand_has_help():
    missing = [
        f"{path} {'/'.join(action.option_strings) or action.dest}"
        for path, parser in _parsers(build_parser())
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction | argparse._HelpAction) and not action.help
    ]
    assert not missing, "options without help: " + ", ".join(missing)


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"lfd-tcmen {__version__}"


def test_data_datasets_lists_loaders_and_protocols(capsys):
    assert main(["data", "datasets"]) == 0
    text = capsys.readouterr().out
    assert "casme2-5class" in text and "samm" in text
    assert main(["data", "datasets", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert "casme2-3class" in listed["datasets"]["casme2"]["protocols"]
    assert listed["protocols"]["casme2-3class"]["classes"] == ["negative", "positive", "surprise"]


def test_config_list_show_init(tmp_path, monkeypatch, capsys):
    assert main(["config", "list"]) == 0
    assert any(line.startswith("synthetic ") for line in capsys.readouterr().out.splitlines())
    assert main(["config", "show", "synthetic"]) == 0
    assert "path: .demo/store" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".demo" / "store").mkdir(parents=True)
    assert main(["config", "init", "synthetic", "sub/my.yaml"]) == 0
    written = tmp_path / "sub" / "my.yaml"
    assert capsys.readouterr().out.strip() == "sub/my.yaml"
    text = written.read_text()
    assert text.startswith("# The demo") and "made absolute" in text  # comments kept
    assert yaml.safe_load(text)["data"]["path"] == str((tmp_path / ".demo" / "store").resolve())
    assert main(["config", "init", "synthetic", "sub/my.yaml"]) == 2  # never overwritten
    assert "already exists" in capsys.readouterr().err
    assert main(["config", "init", "megc2019_all", "b.yaml", "--data", "elsewhere"]) == 0
    assert yaml.safe_load((tmp_path / "b.yaml").read_text())["data"]["path"] == str(tmp_path / "elsewhere")
    assert "does not exist yet" in capsys.readouterr().err
    assert main(["config", "show", "nope"]) == 2
    assert "shipped: " in capsys.readouterr().err


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("synthetic")
    sheet = render_dataset(root, subjects=3, clips_per_subject=2, frames_per_clip=8, progress=False)
    return sheet, root / "CASME2_RAW_selected"


@pytest.fixture(scope="module")
def store(dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    sheet, frames = dataset
    samples = load_samples("casme2", sheet, root=frames, protocol="casme2-3class")
    out = tmp_path_factory.mktemp("store") / "store"
    prepare_dataset(samples, PreprocessConfig(face_size=64, flow_method="dis"), out, progress=False)
    return out


def test_prepare_json_is_one_object(dataset, tmp_path, capsys):
    sheet, frames = dataset
    config = tmp_path / "pre.yaml"
    config.write_text("preprocess: {face_size: 64, flow_method: dis}\n")
    args = ["prepare", "--dataset", "casme2", "--root", str(frames), "--annotations", str(sheet)]
    args += ["--labels", "casme2-3class", "--out", str(tmp_path / "s"), "--config", str(config), "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)  # nothing else on stdout
    assert report["prepared"] == report["total"] == report["computed"] > 0
    assert report["manifest"] == str(tmp_path / "s" / "manifest.json") and report["skipped"] == []


def test_train_set_json_and_fold_names(store, tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(CONFIG.format(store=store))
    out = tmp_path / "run"
    args = ["train", "--config", str(config), "--out", str(out), "--no-progress", "--json"]
    # a fold named as its folder is the fold of that name, printed as casme2/sub02
    assert (
        main([*args, "--folds", "casme2__sub02", "--set", "train.lr=2e-3", "--set", "model.params.w_orth=0"])
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["out"] == str(out) and printed["folds_trained"] == ["casme2/sub02"]
    assert printed["metrics"]["folds_done"] == 1
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["train"]["lr"] == 0.002 and saved["model"]["params"]["w_orth"] == 0
    assert main(["train", "--config", str(config), "--list-folds", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == ["casme2/sub01", "casme2/sub02", "casme2/sub03"]
    assert main([*args, "--set", "train.lrr=1"]) == 2
    assert "--set: unknown key(s) train.lrr" in capsys.readouterr().err
