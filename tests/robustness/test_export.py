"""``lfd-tcmen export CHECKPOINT``: where the export is written (issue 35 items 10 and 14).

The export is serialised in memory and written under a temporary name, then renamed: a full disk
or a read-only folder is one error line naming the file, the checkpoint is never overwritten, and
nothing half-written is left behind.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from lfd_tcmen.inference.export import SUFFIXES, export_checkpoint, sidecar
from robustness.cases import Case, Env, Given, check, full_disk, params, read_only


def _checkpoint(env: Env) -> Path:
    """A private copy of the finished run's model.pt."""
    return Path(shutil.copy(env.inputs.checkpoint, env.tmp / "model.pt"))


def _export(checkpoint: Path, out: Path, fmt: str = "torchscript") -> list[str]:
    return ["export", str(checkpoint), "--format", fmt, "--out", str(out)]


def _unchanged(path: Path) -> object:
    """A ``verify``: ``path`` holds the bytes it holds now."""
    before = path.read_bytes()

    def verify() -> None:
        assert path.read_bytes() == before, f"{path} was overwritten"

    return verify


def _only(folder: Path, *names: str) -> object:
    """A ``verify``: ``folder`` holds exactly ``names`` (no export, no temporary left behind)."""

    def verify() -> None:
        assert sorted(p.name for p in folder.iterdir()) == sorted(names)

    return verify


def out_is_the_checkpoint(env: Env) -> Given:  # issue 35 item 10: the checkpoint was overwritten
    ckpt = _checkpoint(env)
    return Given(_export(ckpt, ckpt), (str(ckpt),), verify=_unchanged(ckpt))


def out_is_the_checkpoint_by_another_name(env: Env) -> Given:  # the same file through a link
    ckpt = _checkpoint(env)
    link = env.tmp / "link.pt"
    link.symlink_to(ckpt)
    return Given(_export(ckpt, link, "safetensors"), (str(link),), verify=_unchanged(ckpt))


def disk_full(env: Env) -> Given:  # issue 35 items 10, 14: a C++ stack and a truncated file
    ckpt = _checkpoint(env)
    out_dir = env.tmp / "out"
    out_dir.mkdir()
    out = out_dir / "model.ts"
    full_disk(env)
    return Given(_export(ckpt, out), (str(out), "No space left on device"), verify=_only(out_dir))


def disk_full_pt2(env: Env) -> Given:
    ckpt = _checkpoint(env)
    out_dir = env.tmp / "out"
    out_dir.mkdir()
    out = out_dir / "model.pt2"
    full_disk(env)
    return Given(_export(ckpt, out, "exported"), (str(out), "No space left on device"), verify=_only(out_dir))


def folder_read_only(env: Env) -> Given:  # issue 35 item 14: a traceback
    ckpt = _checkpoint(env)
    out_dir = env.tmp / "out"
    out_dir.mkdir()
    read_only(env, out_dir)
    out = out_dir / "model.ts"
    return Given(_export(ckpt, out), (str(out),), verify=_only(out_dir))


def _exported(env: Env, fmt: str = "torchscript") -> Path:
    """The session checkpoint exported as ``fmt`` into the case's folder."""
    out = env.tmp / f"model{SUFFIXES[fmt]}"
    return export_checkpoint(env.inputs.checkpoint, fmt, out)


def _predict(env: Env, model: Path) -> list[str]:
    argv = ["predict", "--checkpoint", str(model)]
    for role in ("onset", "apex", "offset"):
        argv += [f"--{role}", str(env.inputs.frame(0, role))]
    return argv


def _sidecar_edited(edit: Callable[[dict], None]) -> Callable[[Env], Given]:
    """A builder: an export whose sidecar's checkpoint section ``edit`` changes (issue 35 item 9)."""

    def build(env: Env) -> Given:
        model = _exported(env)
        meta = json.loads(sidecar(model).read_text())
        edit(meta["checkpoint"])
        sidecar(model).write_text(json.dumps(meta))
        return Given(_predict(env, model), (str(sidecar(model)),))

    return build


def _half_face(info: dict) -> None:
    info["preprocess"]["face_size"] = info["spec"]["face_size"] // 2


def _two_classes(info: dict) -> None:
    info["class_names"] = info["class_names"][:2]


def pt2_without_sidecar(env: Env) -> Given:  # issue 35 item 14: torch's "internal miniz error"
    model = _exported(env, "exported")
    sidecar(model).unlink()
    return Given(_predict(env, model), (str(model), sidecar(model).name))


CASES = [
    Case("out-is-the-checkpoint", out_is_the_checkpoint, 2, "would overwrite the checkpoint"),
    Case(
        "out-is-the-checkpoint-by-a-link",
        out_is_the_checkpoint_by_another_name,
        2,
        "would overwrite the checkpoint",
    ),
    Case("disk-full", disk_full, 2, "No space left on device"),
    Case("disk-full-pt2", disk_full_pt2, 2, "No space left on device"),
    Case(
        "sidecar-face-size-disagrees", _sidecar_edited(_half_face), 2, "its preprocessing makes face_size 16"
    ),
    Case("sidecar-classes-disagree", _sidecar_edited(_two_classes), 2, "2 class names"),
    Case("pt2-without-sidecar", pt2_without_sidecar, 2, "a graph export is run with the sidecar"),
    Case("folder-read-only", folder_read_only, 2, "Permission denied", needs_permissions=True),
]


@pytest.mark.parametrize("case", params(*CASES))
def test_export(case: Case, env: Env, capfd: pytest.CaptureFixture[str]) -> None:
    assert case.fragment in check(case, env, capfd)
