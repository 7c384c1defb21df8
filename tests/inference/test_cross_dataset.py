"""Cross-dataset evaluation: a store's clips get exactly what ``predict`` would feed the model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.features import FeatureSet
from lfd_tcmen.inference.cross_dataset import default_out, evaluate_checkpoints, find_checkpoints
from lfd_tcmen.inference.predict import predict_clip_features
from lfd_tcmen.models.checkpoint import load_checkpoint
from lfd_tcmen.preprocess.clip_file import read_clip_features
from lfd_tcmen.preprocess.manifest import read_manifest
from lfd_tcmen.runs.experiment import run_experiment
from lfd_tcmen.runs.features import preprocess_info
from lfd_tcmen.runs.seeds import run_seeds
from toys import make_config, make_datasets, make_features, write_store

# The store lists its classes and flow segments in another order than the model: matched by name.
STORE_CLASSES = ("surprise", "negative", "positive")
STORE_SEGMENTS = ("onset:mid", "apex:offset", "onset:apex", "mid:apex")


def all_config(**train):
    config = make_config(epochs=1, **train)
    return replace(config, data=replace(config.data, split="all"))


def apex_only(features: FeatureSet) -> FeatureSet:
    """The composite's regime: the apex face and the onset->apex flow only."""
    return replace(
        features,
        faces=features.faces[:, 1:2].copy(),
        face_frames=("apex",),
        flows=features.flows[:, :1].copy(),
        flow_segments=("onset:apex",),
    )


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory) -> Path:
    """Two seeds of a full-clip model trained on every subject of a 3-dataset toy."""
    features = make_datasets()
    out = tmp_path_factory.mktemp("run")
    config = all_config()
    run_seeds(
        config, features, out, (0, 1), progress=False, preprocess=preprocess_info(features, config.data)
    )
    return out


@pytest.fixture(scope="module")
def apex_run(tmp_path_factory) -> Path:
    """An apex-only model (as trained on the MEGC2019 composite), with test-time mirroring."""
    features = apex_only(make_datasets())
    out = tmp_path_factory.mktemp("apex")
    config = all_config(tta_hflip=True)
    run_experiment(config, features, out, progress=False, preprocess=preprocess_info(features, config.data))
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """Another dataset's prepared clips, unseen subjects."""
    other = make_datasets(datasets=("casme3",), subjects=3, seed=7)
    return write_store(tmp_path_factory.mktemp("s") / "casme3", other, STORE_CLASSES, STORE_SEGMENTS)


@pytest.mark.parametrize("run", ["seeds_run", "apex_run"])
def test_evaluate_gives_predicts_probabilities_clip_by_clip(run, store, request):
    folder = request.getfixturevalue(run)
    (path,) = find_checkpoints(folder / "seed0" if run == "seeds_run" else folder)
    evaluation = evaluate_checkpoints([path], store)
    ckpt = load_checkpoint(path)
    manifest = read_manifest(store)
    assert evaluation.class_names == ckpt.class_names == ("negative", "positive", "surprise")
    for i, entry in enumerate(manifest["samples"]):
        arrays, _ = read_clip_features(store / entry["file"])
        clip = {**arrays, "segments": manifest["segments"]}
        expected = predict_clip_features(ckpt, clip, {}).probabilities
        got = dict(zip(ckpt.class_names, evaluation.probs[i].tolist()))
        assert got == pytest.approx(expected, abs=1e-5)
        row = evaluation.rows[i]  # the store's label, named as the checkpoint names it
        assert ckpt.class_names[row["label"]] == STORE_CLASSES[entry["label"]]
    assert evaluation.regime["face_frames"] == list(ckpt.spec.face_frames)
    assert evaluation.scores["overall"]["n"] == len(manifest["samples"])
    assert list(evaluation.scores["per_dataset"]) == ["casme3"] and not evaluation.notes


def test_a_multi_seed_run_is_scored_as_its_seed_ensemble(seeds_run, store):
    paths = find_checkpoints(seeds_run)
    assert paths == [seeds_run / f"seed{k}" / "folds" / "all" / "model.pt" for k in (0, 1)]
    ensemble = evaluate_checkpoints(paths, store)
    one, two = (evaluate_checkpoints([p], store).probs for p in paths)
    np.testing.assert_allclose(ensemble.probs, (one + two) / 2, atol=1e-6)
    assert ensemble.notes == ["seed ensemble: the class probabilities of 2 checkpoints averaged per sample"]
    assert ensemble.to_dict()["seed_ensemble"] is True
    assert default_out(seeds_run, store) == seeds_run / "evaluate" / "casme3"
    assert default_out(paths[0], store) == seeds_run / "seed0" / "evaluate" / "casme3"


def test_subjects_the_model_trained_on_are_named(seeds_run, tmp_path):
    seen = write_store(tmp_path / "seen", make_datasets(), STORE_CLASSES)
    evaluation = evaluate_checkpoints(find_checkpoints(seeds_run / "seed0"), seen)
    assert len(evaluation.seen_subjects) == 6
    assert "trained on 6 of the store's 6 subjects" in evaluation.notes[0]


def test_other_classes_are_refused_naming_both_lists(seeds_run, tmp_path):
    four = write_store(tmp_path / "four", make_features(classes=4))
    with pytest.raises(LFDError) as info:
        evaluate_checkpoints(find_checkpoints(seeds_run / "seed0"), four)
    message = str(info.value)
    assert "['negative', 'positive', 'surprise']" in message
    assert "['negative', 'positive', 'surprise', 'other']" in message and "\n" not in message


def test_a_folder_without_a_model_of_all_subjects_is_refused(tmp_path):
    with pytest.raises(LFDError, match="no such checkpoint"):
        find_checkpoints(tmp_path / "missing")
    (tmp_path / "loso" / "folds" / "toy__s0").mkdir(parents=True)
    with pytest.raises(LFDError, match="a run folder without model trained on all subjects"):
        find_checkpoints(tmp_path / "loso")
