"""``lfd-tcmen prepare-video``: damaged input files only (the video and the preprocess config).

What the command does with a sound video (spotting, a still video's outcome, streaming) is
tested in tests/preprocess/test_video.py; here a bad input file must be one error line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from robustness.cases import (
    Case,
    Env,
    Given,
    check,
    empty,
    not_utf8,
    params,
    replace_with_folder,
)
from robustness.inputs import clip_frames, video_file


def _prepare_video(env: Env, video: Path, *extra: str) -> list[str]:
    return ["prepare-video", str(video), "--out", str(env.tmp / "out"), "--no-progress", *extra]


def _on(env: Env, video: Path) -> Given:
    return Given(_prepare_video(env, video), (str(video),))


def video_missing(env: Env) -> Given:
    return _on(env, env.tmp / "absent.mp4")


def video_zero_bytes(env: Env) -> Given:
    return _on(env, empty(env.tmp / "clip.mp4"))


def video_text_file(env: Env) -> Given:
    path = env.tmp / "clip.mp4"
    path.write_text("not a video\n" * 50)
    return _on(env, path)


def video_truncated(env: Env) -> Given:
    video = video_file(env.tmp / "clip.mp4", clip_frames(env.inputs))
    video.write_bytes(video.read_bytes()[: video.stat().st_size // 3])
    return _on(env, video)


def video_folder(env: Env) -> Given:
    return _on(env, replace_with_folder(env.tmp / "clip.mp4"))


def config_not_utf8(env: Env) -> Given:  # issue 13, noisy: UnicodeDecodeError traceback
    config = not_utf8(env.tmp / "pre.yaml", "face_size: 64\n# caf\xe9\n")
    argv = _prepare_video(
        env, video_file(env.tmp / "clip.mp4", clip_frames(env.inputs)), "--config", str(config)
    )
    return Given(argv, (str(config),))


def config_missing(env: Env) -> Given:
    config = env.tmp / "absent.yaml"
    argv = _prepare_video(
        env, video_file(env.tmp / "clip.mp4", clip_frames(env.inputs)), "--config", str(config)
    )
    return Given(argv, (str(config),))


def min_motion_nan(env: Env) -> Given:  # issue 35 item 11: every video called still, exit 0
    video = video_file(env.tmp / "clip.mp4", clip_frames(env.inputs))
    return Given(_prepare_video(env, video, "--min-motion", "nan"), ("--min-motion",))


CASES = [
    Case("video-missing", video_missing, 2, "video not found"),
    Case("video-zero-bytes", video_zero_bytes, 2, "video"),
    Case("video-text-file", video_text_file, 2, "cannot open video"),
    Case("video-truncated", video_truncated, 2, "video"),
    Case("video-folder", video_folder, 2, "video not found"),
    Case("config-not-utf8", config_not_utf8, 2, "not UTF-8 text"),
    Case("config-missing", config_missing, 2, "config file not found"),
    Case("min-motion-nan", min_motion_nan, 2, "--min-motion must be a finite number >= 0, got nan"),
]


@pytest.mark.parametrize("case", params(*CASES))
def test_prepare_video(case: Case, env: Env, capfd: pytest.CaptureFixture[str]) -> None:
    assert case.fragment in check(case, env, capfd)
