"""``lfd-tcmen predict`` with key-frame images and a tiny trained checkpoint."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lfd_tcmen.cli import main
from lfd_tcmen.config.experiment import ExperimentConfig
from lfd_tcmen.data.features import FACE_FRAMES_FULL, FeatureSet
from lfd_tcmen.data.splits import loso_folds
from lfd_tcmen.inference.export import SUFFIXES, available
from lfd_tcmen.inference.predict import load_model, pipeline_config, predict_clip_features
from lfd_tcmen.models.checkpoint import save_checkpoint, update_checkpoint
from lfd_tcmen.preprocess.config import PreprocessConfig
from lfd_tcmen.preprocess.io import read_frames
from lfd_tcmen.preprocess.keyframes import MACRO_MOTION_PX, STILL_MOTION_PX
from lfd_tcmen.preprocess.pipeline import extract_clip_features
from lfd_tcmen.synth.render import render_dataset
from lfd_tcmen.training.fold import train_fold
from still_videos import still_video
from toys import SMALL_MODEL

CLASSES = ("negative", "positive", "surprise")
SEGMENTS = ("onset:apex", "onset:mid", "mid:apex", "apex:offset")
PARAMS = SMALL_MODEL


def toy_checkpoint(
    path: Path, face_frames: tuple[str, ...], segments: tuple[str, ...], preprocess: dict
) -> Path:
    """One epoch on random 16 x 16 faces and 8 x 8 flows of ``face_frames`` and ``segments``:
    small, but a real trained checkpoint, saved to ``path`` with ``preprocess``."""
    rng = np.random.default_rng(0)
    n = 12
    features = FeatureSet(
        sample_ids=[f"toy/s{i % 3}/c{i}" for i in range(n)],
        datasets=["toy"] * n,
        subjects=[f"toy/s{i % 3}" for i in range(n)],
        labels=np.arange(n) % 3,
        class_names=CLASSES,
        faces=rng.random((n, len(face_frames), 16, 16), dtype=np.float32),
        face_frames=face_frames,
        flows=rng.random((n, len(segments), 3, 8, 8), dtype=np.float32),
        flow_segments=segments,
    )
    config = ExperimentConfig.from_dict(
        {"model": {"params": PARAMS}, "train": {"epochs": 1, "batch_size": 4}}
    )
    result = train_fold(features, loso_folds(features.subjects)[0], config, seed=0, progress=False)["honest"]
    save_checkpoint(
        path, result.state_dict, model_name="lfd_tcmen", params=PARAMS, spec=result.spec, class_names=CLASSES,
        config=config.to_dict(), preprocess={"face_size": 16, "flow_size": 8, "flow_norm": "minmax", **preprocess},
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model of a store made with its pipeline (full regime)."""
    pipeline = PreprocessConfig(face_size=64, flow_method="dis")
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    return toy_checkpoint(path, FACE_FRAMES_FULL, SEGMENTS, {"pipeline": pipeline.to_dict()})


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A rendered synthetic clip (a drawn face with a micro-movement), frames in order."""
    root = tmp_path_factory.mktemp("clip")
    render_dataset(root, subjects=1, clips_per_subject=1, frames_per_clip=8, progress=False)
    (clip,) = [p for p in (root / "CASME2_RAW_selected" / "sub01").iterdir() if p.is_dir()]
    return sorted(clip.glob("img*.jpg"), key=lambda p: int(p.stem[3:]))


def test_predict_images_prints_class_probabilities_and_frames(checkpoint, frames, capsys):
    onset, apex, offset = frames[0], frames[len(frames) // 2], frames[-1]
    argv = ["predict", "--onset", str(onset), "--apex", str(apex), "--offset", str(offset)]
    assert main([*argv, "--checkpoint", str(checkpoint), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["probabilities"]) == set(CLASSES)
    assert sum(out["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert out["class"] == max(out["probabilities"], key=out["probabilities"].get)
    assert out["frames"] == {"onset": str(onset), "apex": str(apex), "offset": str(offset)}
    assert out["regime"]["face_frames"] == list(FACE_FRAMES_FULL)

    assert main(["predict", "--onset", str(onset), "--apex", str(apex), "--checkpoint", str(checkpoint)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("class: ") and text.split()[1] in CLASSES
    assert f"apex {apex}" in text and f"offset {apex}" in text  # no --offset: the apex stands in


@pytest.fixture(scope="module")
def composite_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model as trained on the MEGC2019 composite: apex face and onset->apex flow, features made
    upstream (preprocess source "composite", no pipeline recorded)."""
    path = tmp_path_factory.mktemp("composite_ckpt") / "model.pt"
    return toy_checkpoint(path, ("apex",), ("onset:apex",), {"source": "composite", "pipeline": None})


def test_a_composite_model_gets_framed_inputs(composite_checkpoint, checkpoint, frames, capsys):
    """A model trained on the composite is fed faces framed as the composite's (render framed),
    a store's model its store's render; both said in the output."""
    onset, apex = frames[0], frames[len(frames) // 2]
    images = ["--onset", str(onset), "--apex", str(apex)]
    assert main(["predict", *images, "--checkpoint", str(composite_checkpoint), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rendering"]["render"] == "framed" and "MEGC2019 composite" in out["rendering"]["why"]
    # the probabilities are those of the framed features, not of the aligned ones
    ckpt = load_model(composite_checkpoint)
    grey = read_frames([onset, apex])
    for render, same in (("framed", True), ("aligned", False)):
        config = PreprocessConfig(segments=("onset:apex",), render=render)
        probs = predict_clip_features(ckpt, extract_clip_features(grey, 0, 1, 1, config), {}).probabilities
        assert np.allclose(list(probs.values()), list(out["probabilities"].values()), atol=1e-6) is same
    assert main(["predict", *images, "--checkpoint", str(composite_checkpoint)]) == 0
    assert "rendering: framed (the model was trained on the MEGC2019 composite" in capsys.readouterr().out
    assert main(["predict", *images, "--checkpoint", str(checkpoint), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rendering"]["render"] == "aligned"


def test_prepare_video_for_a_composite_model_frames_it(shared_data, composite_checkpoint, tmp_path, capsys):
    video = shared_data / "videos" / "single_face.mp4"
    argv = ["prepare-video", str(video), "--out", str(tmp_path), "--no-progress"]
    assert main([*argv, "--checkpoint", str(composite_checkpoint)]) == 0
    assert "render framed (the model was trained on the MEGC2019 composite" in capsys.readouterr().err
    clip = json.loads((tmp_path / "clip.json").read_text())
    assert clip["preprocess"]["render"] == "framed" and clip["preprocess"]["segments"] == ["onset:apex"]
    with pytest.raises(SystemExit):
        main([*argv, "--checkpoint", str(composite_checkpoint), "--config", str(tmp_path / "p.yaml")])
    assert "give --config or --checkpoint, not both" in capsys.readouterr().err


def test_rendering_follows_the_checkpoint() -> None:
    def ckpt(preprocess: dict) -> SimpleNamespace:
        return SimpleNamespace(preprocess=preprocess, spec=SimpleNamespace(flow_segments=["onset:apex"]))

    composite = ckpt({"source": "composite", "pipeline": None})
    assert pipeline_config(composite)[0] == PreprocessConfig(segments=("onset:apex",), render="framed")
    assert pipeline_config(ckpt({"pipeline": None}))[0] == PreprocessConfig(segments=("onset:apex",))
    store = ckpt(
        {"source": "store", "pipeline": PreprocessConfig(face_size=96, render="composite").to_dict()}
    )
    assert pipeline_config(store)[0] == PreprocessConfig(face_size=96, render="composite")  # images
    video, why = pipeline_config(store, video=True)  # a video has no face crops to squeeze
    assert video == PreprocessConfig(face_size=96, render="framed") and "framing" in why


def test_bad_checkpoint_is_one_line_and_nonzero(frames, tmp_path, capsys):
    missing = tmp_path / "nope.pt"
    assert (
        main(["predict", "--onset", str(frames[0]), "--apex", str(frames[1]), "--checkpoint", str(missing)])
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(missing) in err[0] and "checkpoint not found" in err[0]


def test_image_without_a_face_is_one_line(checkpoint, tmp_path, capsys):
    import cv2

    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((96, 96), 128, np.uint8))
    assert (
        main(["predict", "--onset", str(blank), "--apex", str(blank), "--checkpoint", str(checkpoint)]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lfd-tcmen: error:")


@pytest.mark.parametrize("role", ["apex", "offset"])
def test_every_key_image_must_hold_a_face(checkpoint, frames, tmp_path, capsys, role):
    """Issue 13.7: an all-black apex used to get a class (p=.53) with no note."""
    import cv2

    black = tmp_path / "black.png"
    cv2.imwrite(str(black), np.zeros_like(cv2.imread(str(frames[0]), cv2.IMREAD_GRAYSCALE)))
    images = {"onset": str(frames[0]), "apex": str(frames[4]), "offset": str(frames[-1]), role: str(black)}
    args = ["predict", "--checkpoint", str(checkpoint)] + [
        x for k, v in images.items() for x in (f"--{k}", v)
    ]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(black) in err[0] and f"no face found in the {role} image" in err[0]


def test_predict_needs_a_video_or_two_images(checkpoint, frames, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "--apex", str(frames[0]), "--checkpoint", str(checkpoint)])
    assert exit_.value.code == 2
    assert "give a video, or both --onset and --apex" in capsys.readouterr().err


def test_predict_real_video(shared_data, checkpoint, capsys):
    video = shared_data / "videos" / "single_face.mp4"
    assert main(["predict", str(video), "--checkpoint", str(checkpoint), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sum(out["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    on, ap, off = out["frames"]["onset"], out["frames"]["apex"], out["frames"]["offset"]
    assert 0 <= on <= ap <= off < 72  # spotted within the clip's 72 frames
    assert out["frames"]["video"] == str(video)


def test_still_face_video_has_no_micro_expression(shared_data, checkpoint, tmp_path, capsys):
    still = still_video(shared_data, tmp_path / "still.mp4")
    assert main(["predict", str(still), "--checkpoint", str(checkpoint), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["micro_expression"] is False and out["class"] is None and out["probabilities"] == {}
    assert out["motion"]["peak_motion"] < out["motion"]["min_motion"] == STILL_MOTION_PX
    assert main(["predict", str(still), "--checkpoint", str(checkpoint)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("no micro-expression found:") and "no class predicted" in text
    # --min-motion 0 forces a class, as before the threshold existed
    assert main(["predict", str(still), "--checkpoint", str(checkpoint), "--json", "--min-motion", "0"]) == 0
    forced = json.loads(capsys.readouterr().out)
    assert forced["micro_expression"] is True and forced["class"] in CLASSES


def test_a_hand_over_the_face_is_a_macro_movement_not_a_micro_expression(shared_data, checkpoint, capsys):
    """WolfgangLanger_Pexels.mp4: a hand passes over the face; its interval peaks near 12 px, above
    any real micro-expression (MACRO_MOTION_PX): no class, exit 0, said as such."""
    video = shared_data / "videos" / "WolfgangLanger_Pexels.mp4"
    assert main(["predict", str(video), "--checkpoint", str(checkpoint), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["micro_expression"] is False and out["class"] is None and out["probabilities"] == {}
    assert out["motion"]["outcome"] == "macro" and out["motion"]["max_motion"] == MACRO_MOTION_PX
    assert out["motion"]["peak_motion"] >= MACRO_MOTION_PX
    assert main(["predict", str(video), "--checkpoint", str(checkpoint)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(
        "no micro-expression: the motion is too large for one (a macro movement or an occlusion): "
    )
    assert "no class predicted" in text and "class:" not in text
    argv = ["predict", str(video), "--checkpoint", str(checkpoint), "--max-motion", "inf"]
    assert main(argv) == 0  # no ceiling: a class, and the frame rate as a reader wants it
    text = capsys.readouterr().out
    assert text.startswith("class: ") and ", fps 23.98, " in text
    peak = next(line for line in text.splitlines() if line.startswith("peak motion: "))
    assert "above the 1.50 px of a still face, below the inf px of a macro movement" in peak
    assert main([*argv[:-1], "1.0"]) == 2  # a ceiling under the floor
    assert "--max-motion (1.0) must be above --min-motion (1.5)" in capsys.readouterr().err


ESTIMATE = {
    "recorded": True,
    "run": "/runs/tiny",
    "split": "loso",
    "protocol": "honest",
    "folds": "3/3",
    "overall": {"uf1": 0.5, "uar": 0.55, "accuracy": 0.6, "n": 9},
}


@pytest.fixture(scope="module")
def final_checkpoint(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy checkpoint as a final model (``train --final``) carrying an honest estimate."""
    path = tmp_path_factory.mktemp("final") / "model.pt"
    path.write_bytes(checkpoint.read_bytes())
    update_checkpoint(path, estimate=ESTIMATE, final=True)
    return path


@pytest.fixture(scope="module", params=["torchscript", "exported", "onnx", "safetensors"])
def exported(request, final_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``lfd-tcmen export`` of the final model, in each format whose optional package is here."""
    fmt = request.param
    if not available(fmt):
        pytest.skip(f"the optional package for {fmt} is not installed")
    if fmt == "onnx":
        pytest.importorskip("onnxruntime", reason="running the onnx export needs onnxruntime")
    out = tmp_path_factory.mktemp(fmt) / f"model{SUFFIXES[fmt]}"
    assert main(["export", str(final_checkpoint), "--format", fmt, "--out", str(out)]) == 0
    assert out.is_file() and Path(f"{out}.json").is_file()
    return out


def test_an_export_predicts_what_its_checkpoint_predicts(final_checkpoint, exported, frames, capsys):
    images = ["--onset", str(frames[0]), "--apex", str(frames[4]), "--offset", str(frames[-1])]
    capsys.readouterr()
    assert main(["predict", *images, "--checkpoint", str(final_checkpoint), "--json"]) == 0
    want = json.loads(capsys.readouterr().out)
    assert main(["predict", *images, "--checkpoint", str(exported), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["class"] == want["class"] and got["estimate"] == want["estimate"] == ESTIMATE
    assert got["rendering"] == want["rendering"]  # the sidecar carries the preprocessing
    assert got["probabilities"] == pytest.approx(want["probabilities"], abs=1e-5)
    assert main(["predict", *images, "--checkpoint", str(exported)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"class: {want['class']}"
    assert lines[1] == (
        "honest estimate (the same config under loso, honest, 3/3 folds; run /runs/tiny): UF1 0.5000  UAR 0.5500"
    )


def test_an_export_keeps_the_no_micro_expression_outcome(shared_data, exported, tmp_path, capsys):
    still = still_video(shared_data, tmp_path / "still.mp4")
    capsys.readouterr()
    assert main(["predict", str(still), "--checkpoint", str(exported), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["micro_expression"] is False and out["class"] is None and out["probabilities"] == {}
    assert out["estimate"] == ESTIMATE
    assert main(["predict", str(still), "--checkpoint", str(exported)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("no micro-expression found:") and "honest estimate (" in text


def test_export_of_a_missing_checkpoint_is_one_line(tmp_path, capsys):
    missing = tmp_path / "nope.pt"
    assert main(["export", str(missing), "--format", "torchscript"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "checkpoint not found" in err[0] and not (tmp_path / "nope.ts").exists()
