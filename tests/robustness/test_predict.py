"""``lfd-tcmen predict``: damaged checkpoints, key-frame images and videos.

The checkpoint is the session run's fold model; images are frames of the synthetic set.
A crafted checkpoint must never run code: its payload would create a marker file.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from robustness.cases import (
    Case,
    Env,
    Given,
    check,
    empty,
    params,
    replace_with_folder,
    truncate,
)
from robustness.inputs import clip_frames, video_file


def _images(env: Env, checkpoint: Path, **replace: Path) -> list[str]:
    """predict on clip 0's onset, apex and offset frames (some replaced)."""
    frames = {k: env.inputs.frame(0, k) for k in ("onset", "apex", "offset")}
    frames.update(replace)
    argv = ["predict", "--checkpoint", str(checkpoint)]
    for role, path in frames.items():
        argv += [f"--{role}", str(path)]
    return argv


def _checkpoint(env: Env) -> Path:
    return Path(shutil.copy(env.inputs.checkpoint, env.tmp / "model.pt"))


def _payload(env: Env) -> dict:
    return torch.load(env.inputs.checkpoint, map_location="cpu", weights_only=True)


def _saved(env: Env, payload: object) -> Path:
    path = env.tmp / "model.pt"
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path.write_bytes(buffer.getvalue())
    return path


def _with_checkpoint(env: Env, path: Path) -> Given:
    return Given(_images(env, path), (str(path),))


# ----------------------------------------------------------------------------- the checkpoint
def checkpoint_missing(env: Env) -> Given:
    return _with_checkpoint(env, env.tmp / "absent.pt")


def checkpoint_empty(env: Env) -> Given:
    return _with_checkpoint(env, empty(_checkpoint(env)))


def checkpoint_truncated(env: Env) -> Given:
    return _with_checkpoint(env, truncate(_checkpoint(env)))


def checkpoint_text_file(env: Env) -> Given:  # issue 13, noisy: KeyError: 101
    path = env.tmp / "model.pt"
    path.write_text("epoch 3: loss 0.12\n" * 10)
    return _with_checkpoint(env, path)


def checkpoint_folder(env: Env) -> Given:
    return _with_checkpoint(env, replace_with_folder(env.tmp / "model.pt"))


def checkpoint_not_a_dict(env: Env) -> Given:
    return _with_checkpoint(env, _saved(env, [1, 2, 3]))


def checkpoint_without_spec(env: Env) -> Given:
    payload = _payload(env)
    del payload["spec"]
    return _with_checkpoint(env, _saved(env, payload))


def checkpoint_face_size_disagrees(env: Env) -> Given:  # issue 35 item 9: predicted anyway
    payload = _payload(env)
    payload["preprocess"]["face_size"] = payload["spec"]["face_size"] // 2
    return _with_checkpoint(env, _saved(env, payload))


def checkpoint_classes_disagree(env: Env) -> Given:  # issue 35 item 9: an IndexError traceback
    payload = _payload(env)
    payload["class_names"] = payload["class_names"][:-1]
    return _with_checkpoint(env, _saved(env, payload))


def checkpoint_wrong_shape(env: Env) -> Given:  # issue 13, noisy: name the key and the shapes
    payload = _payload(env)
    key = next(k for k, v in payload["state_dict"].items() if v.ndim == 4)
    shape = payload["state_dict"][key].shape
    payload["state_dict"][key] = torch.zeros(shape[0] + 1, *shape[1:])
    given = _with_checkpoint(env, _saved(env, payload))
    return Given(given.argv, (*given.names, key))


class _Payload:
    """Pickles to a call of os.system: loading it must not run it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def checkpoint_runs_code(env: Env) -> Given:  # no code execution from files
    marker = env.tmp / "code-ran"
    payload = _payload(env)
    payload["config"] = _Payload(marker)
    given = _with_checkpoint(env, _saved(env, payload))

    def verify() -> None:
        assert not marker.exists(), "loading the checkpoint ran code"

    return Given(given.argv, given.names, verify)


# ----------------------------------------------------------------------------- key-frame images
def _image(env: Env, role: str, path: Path) -> Given:
    return Given(_images(env, env.inputs.checkpoint, **{role: path}), (str(path),))


def _copy_frame(env: Env, role: str) -> Path:
    return Path(shutil.copy(env.inputs.frame(0, role), env.tmp / f"{role}.jpg"))


def onset_missing(env: Env) -> Given:
    return _image(env, "onset", env.tmp / "absent.jpg")


def onset_empty(env: Env) -> Given:
    return _image(env, "onset", empty(_copy_frame(env, "onset")))


def apex_truncated(env: Env) -> Given:
    return _image(env, "apex", truncate(_copy_frame(env, "apex")))


def apex_text_file(env: Env) -> Given:
    path = env.tmp / "apex.png"
    path.write_text("not an image\n")
    return _image(env, "apex", path)


def offset_folder(env: Env) -> Given:
    return _image(env, "offset", replace_with_folder(env.tmp / "offset.jpg"))


def apex_without_face(env: Env) -> Given:  # issue 13.7: an all-black apex got a class
    path = env.tmp / "black.png"
    cv2.imwrite(str(path), np.zeros((128, 128), np.uint8))
    return _image(env, "apex", path)


def offset_without_face(env: Env) -> Given:  # issue 13.7: every key frame must hold a face
    path = env.tmp / "black.png"
    cv2.imwrite(str(path), np.zeros((128, 128), np.uint8))
    return _image(env, "offset", path)


def apex_other_size(env: Env) -> Given:
    path = env.tmp / "apex.png"
    cv2.imwrite(str(path), cv2.resize(cv2.imread(str(env.inputs.frame(0, "apex"))), (96, 96)))
    return _image(env, "apex", path)


# ----------------------------------------------------------------------------- a video
def _on_video(env: Env, path: Path) -> Given:
    return Given(["predict", str(path), "--checkpoint", str(env.inputs.checkpoint)], (str(path),))


def video_missing(env: Env) -> Given:
    return _on_video(env, env.tmp / "absent.mp4")


def video_empty(env: Env) -> Given:
    return _on_video(env, empty(env.tmp / "clip.mp4"))


def video_text_file(env: Env) -> Given:
    path = env.tmp / "clip.mp4"
    path.write_text("not a video\n" * 50)
    return _on_video(env, path)


def video_truncated(env: Env) -> Given:
    return _on_video(env, truncate(video_file(env.tmp / "clip.mp4", clip_frames(env.inputs)), 0.3))


def video_folder(env: Env) -> Given:
    return _on_video(env, replace_with_folder(env.tmp / "clip.mp4"))


def video_still(env: Env) -> Given:  # issue 13.8: a still video got a micro-expression and a class
    return _on_video(env, video_file(env.tmp / "clip.mp4", clip_frames(env.inputs)[:1] * 24))


def _min_motion(value: str) -> object:
    """A builder: a moving video with ``--min-motion value`` (issue 35 item 11: nan called every
    video still, exit 0)."""

    def build(env: Env) -> Given:
        given = _on_video(env, video_file(env.tmp / "clip.mp4", clip_frames(env.inputs)))
        return Given([*given.argv, "--min-motion", value], ("--min-motion",))

    return build


CASES = [
    Case("checkpoint-missing", checkpoint_missing, 2, "checkpoint not found"),
    Case("checkpoint-empty", checkpoint_empty, 2, "not a readable lfd-tcmen checkpoint"),
    Case("checkpoint-truncated", checkpoint_truncated, 2, "not a readable lfd-tcmen checkpoint"),
    Case("checkpoint-text-file", checkpoint_text_file, 2, "not a readable lfd-tcmen checkpoint"),
    Case("checkpoint-folder", checkpoint_folder, 2, "not a file"),
    Case("checkpoint-not-a-dict", checkpoint_not_a_dict, 2, "expected a dict"),
    Case("checkpoint-without-spec", checkpoint_without_spec, 2, "missing spec"),
    Case("checkpoint-wrong-shape", checkpoint_wrong_shape, 2, "size mismatch"),
    Case("checkpoint-runs-code", checkpoint_runs_code, 2, "holds objects other than plain tensors"),
    Case("onset-missing", onset_missing, 2, "not found"),
    Case("onset-empty", onset_empty, 2, "empty"),
    Case("apex-truncated", apex_truncated, 2, "truncated JPEG"),
    Case("apex-text-file", apex_text_file, 2, "corrupt image"),
    Case("offset-folder", offset_folder, 2, "Is a directory"),
    Case("apex-without-face", apex_without_face, 2, "no face found in the apex image"),
    Case("offset-without-face", offset_without_face, 2, "no face found in the offset image"),
    Case("apex-other-size", apex_other_size, 2, "size"),
    Case("video-missing", video_missing, 2, "video not found"),
    Case("video-empty", video_empty, 2, "cannot open video"),
    Case("video-text-file", video_text_file, 2, "cannot open video"),
    Case("video-truncated", video_truncated, 2, "cannot open video"),
    Case("video-folder", video_folder, 2, "video not found"),
    Case("video-still", video_still, 0, "no micro-expression found", level="ok"),
    Case(
        "checkpoint-face-size-disagrees",
        checkpoint_face_size_disagrees,
        2,
        "its preprocessing makes face_size 16",
    ),
    Case("checkpoint-classes-disagree", checkpoint_classes_disagree, 2, "2 class names"),
    Case("min-motion-nan", _min_motion("nan"), 2, "--min-motion must be a finite number >= 0, got nan"),
    Case("min-motion-negative", _min_motion("-1"), 2, "--min-motion must be a finite number >= 0, got -1"),
]


@pytest.mark.parametrize("case", params(*CASES))
def test_predict(case: Case, env: Env, capfd: pytest.CaptureFixture[str]) -> None:
    assert case.fragment in check(case, env, capfd)
