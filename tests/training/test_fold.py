"""One fold's training: no test sample ever trains, identity head sized by training subjects,
class weights from training labels, seeded determinism, augmentation and schedule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lfd_tcmen.data.features import mirror
from lfd_tcmen.data.splits import loso_folds
from lfd_tcmen.evaluation.forward import batches, evaluate
from lfd_tcmen.models import create_model_for
from lfd_tcmen.runs.folds import fold_seed
from lfd_tcmen.training.augment import augment
from lfd_tcmen.training.fold import train_fold
from lfd_tcmen.training.schedule import class_weights, lr_factor
from toys import scramble_test_subject


def _states_equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_honest_never_trains_on_test_samples_and_sizes_identity_head_by_training_subjects(
    features, make_config
):
    fold = loso_folds(features.subjects)[1]
    seen: list[np.ndarray] = []
    config = make_config(epochs=2)
    result = train_fold(features, fold, config, seed=5, progress=False, on_batch=seen.append)["honest"]

    trained_on = np.concatenate(seen)
    assert not set(trained_on.tolist()) & set(fold.test)
    # every training sample is seen exactly once per epoch
    assert sorted(trained_on.tolist()) == sorted(list(fold.train) * config.train.epochs)
    assert result.train_subjects == ["toy/s0", "toy/s2", "toy/s3"]
    assert result.spec.num_subjects == 3
    assert result.state_dict["drl.identity_head.weight"].shape[0] == 3
    assert result.probs.shape == (len(fold.test), features.num_classes)
    np.testing.assert_allclose(result.probs.sum(axis=1), 1.0, atol=1e-5)
    assert result.epoch == config.train.epochs


def test_honest_training_ignores_everything_about_the_test_subject(features, make_config):
    """Scrambling the test subject's faces, flows and labels changes nothing in training."""
    fold = loso_folds(features.subjects)[2]
    config = make_config(epochs=2)
    a = train_fold(features, fold, config, seed=11, progress=False)["honest"]

    altered = scramble_test_subject(features, fold, seed=99)
    b = train_fold(altered, fold, config, seed=11, progress=False)["honest"]

    assert _states_equal(a.state_dict, b.state_dict)
    assert a.history == b.history


def test_class_weights_come_from_the_labels_given():
    w = class_weights(np.array([0, 0, 0, 1]), 3)
    np.testing.assert_allclose(w, [4 / 6, 2.0, 0.0], rtol=1e-6)


def test_fixed_seed_gives_identical_results_and_another_seed_does_not(features, make_config):
    fold = loso_folds(features.subjects)[0]
    config = make_config(epochs=2)
    a = train_fold(features, fold, config, seed=7, progress=False)["honest"]
    b = train_fold(features, fold, config, seed=7, progress=False)["honest"]
    c = train_fold(features, fold, config, seed=8, progress=False)["honest"]
    assert np.array_equal(a.probs, b.probs)
    assert _states_equal(a.state_dict, b.state_dict)
    assert a.history == b.history
    assert not np.array_equal(a.probs, c.probs)


def test_fold_seed_depends_on_run_seed_and_fold_name_only():
    assert fold_seed(0, "casme2/sub01") == fold_seed(0, "casme2/sub01")
    assert fold_seed(0, "casme2/sub01") != fold_seed(0, "casme2/sub02")
    assert fold_seed(0, "casme2/sub01") != fold_seed(1, "casme2/sub01")


def test_leaky_mode_keeps_the_epoch_with_most_correct_test_predictions(features, make_config):
    fold = loso_folds(features.subjects)[0]
    result = train_fold(
        features, fold, make_config(epochs=4, protocol="leaky-best-epoch"), seed=1, progress=False
    )["leaky-best-epoch"]
    accs = [row["test_accuracy"] for row in result.history]
    best = max(accs)
    assert result.epoch == max(i + 1 for i, a in enumerate(accs) if a == best)  # later epochs win ties
    kept_acc = float(np.mean(result.preds == features.labels[list(fold.test)]))
    assert kept_acc == pytest.approx(best)


def test_honest_history_has_no_test_metrics(features, make_config):
    fold = loso_folds(features.subjects)[0]
    result = train_fold(features, fold, make_config(epochs=1), seed=1, progress=False)["honest"]
    assert all(not k.startswith("test") for row in result.history for k in row)
    assert {"epoch", "lr", "train_loss", "train_accuracy", "cls"} <= set(result.history[0])


def test_hflip_mirrors_faces_and_flows_and_negates_u(make_features, make_config):
    features = make_features(subjects=2, per_subject=2)
    config = make_config(hflip=True)
    faces, flows = features.faces[:4], features.flows[:4]
    # find a seed flipping sample 0 and not sample 1 (probability 0.5 each)
    for seed in range(50):
        flip = np.random.default_rng(seed).random(4) < 0.5
        if flip[0] and not flip[1]:
            break
    f2, g2 = augment(faces, flows, config.train, np.random.default_rng(seed), flow_normalised=True)
    np.testing.assert_array_equal(f2[0], faces[0][..., ::-1])
    np.testing.assert_array_equal(f2[1], faces[1])
    np.testing.assert_allclose(g2[0, :, 0], 1.0 - flows[0, :, 0][..., ::-1])  # u, min-max normalised
    np.testing.assert_array_equal(g2[0, :, 1:], flows[0, :, 1:][..., ::-1])  # v and strain
    _, g3 = augment(faces, flows, config.train, np.random.default_rng(seed), flow_normalised=False)
    np.testing.assert_array_equal(g3[0, :, 0], -flows[0, :, 0][..., ::-1])  # raw pixels: u -> -u
    assert np.array_equal(faces, features.faces[:4])  # inputs untouched


def test_shift_translates_faces_and_flows(make_features, make_config):
    features = make_features(subjects=2, per_subject=1)
    config = make_config(hflip=False, shift=2)
    faces, flows = features.faces, features.flows
    f2, g2 = augment(faces, flows, config.train, np.random.default_rng(0), flow_normalised=True)
    dy, dx = np.random.default_rng(0).integers(-2, 3, size=(2, 2))[0]
    assert (dy, dx) != (0, 0)  # this seed shifts sample 0
    s = faces.shape[-1]
    ys, xs = slice(max(dy, 0), s + min(dy, 0)), slice(max(dx, 0), s + min(dx, 0))
    yo, xo = slice(max(-dy, 0), s + min(-dy, 0)), slice(max(-dx, 0), s + min(-dx, 0))
    np.testing.assert_array_equal(f2[0][..., ys, xs], faces[0][..., yo, xo])


def test_schedule_and_batches(make_config):
    config = make_config(epochs=10).train
    assert lr_factor(config, 0) == pytest.approx(1.0)
    factors = [lr_factor(config, e) for e in range(10)]
    assert all(a > b for a, b in zip(factors, factors[1:]))
    sizes = [len(b) for b in batches(np.arange(17), 8)]
    assert sizes == [6, 6, 5]  # never a lone sample in a batch
    assert sorted(np.concatenate(batches(np.arange(17), 8)).tolist()) == list(range(17))


def test_one_training_serves_both_protocols_exactly(features, make_config):
    """The leaky rule only evaluates: the honest result of a two-protocol training is the
    honest-only training's, bit for bit, and its leaky result the leaky-only training's."""
    fold = loso_folds(features.subjects)[1]
    config = make_config(epochs=3)
    both = train_fold(
        features, fold, config, seed=2, progress=False, protocols=("leaky-best-epoch", "honest")
    )
    honest = train_fold(features, fold, config, seed=2, progress=False)["honest"]
    leaky = train_fold(features, fold, config, seed=2, progress=False, protocols=["leaky-best-epoch"])
    for alone, shared in ((honest, both["honest"]), (leaky["leaky-best-epoch"], both["leaky-best-epoch"])):
        np.testing.assert_array_equal(alone.probs, shared.probs)
        assert _states_equal(alone.state_dict, shared.state_dict)
        assert alone.history == shared.history and alone.epoch == shared.epoch
    assert both["honest"].epoch == 3
    with pytest.raises(ValueError, match="protocols"):
        train_fold(features, fold, config, seed=2, progress=False, protocols=["best"])


def test_weight_averaging_keeps_the_mean_of_the_last_epochs_weights(features, make_config):
    fold = loso_folds(features.subjects)[0]
    plain = train_fold(
        features,
        fold,
        make_config(epochs=3),
        seed=2,
        progress=False,
        protocols=("honest", "honest-nested"),
        chosen_epoch=2,
    )
    averaged = train_fold(features, fold, make_config(epochs=3, average_last=2), seed=2, progress=False)[
        "honest"
    ]
    for key, value in averaged.state_dict.items():
        if value.is_floating_point():
            expected = (
                plain["honest"].state_dict[key].double() + plain["honest-nested"].state_dict[key].double()
            ) / 2
            torch.testing.assert_close(value, expected.float(), rtol=0, atol=1e-6)
    one = train_fold(features, fold, make_config(epochs=3, average_last=1), seed=2, progress=False)["honest"]
    assert _states_equal(one.state_dict, plain["honest"].state_dict)


def test_flip_test_time_averaging_is_the_mean_of_both_views(features, make_config):
    fold = loso_folds(features.subjects)[0]
    config = make_config(epochs=1, tta_hflip=True)
    result = train_fold(features, fold, config, seed=2, progress=False)["honest"]
    model = create_model_for(features, config.model.name, config.model.params, len(result.train_subjects))
    model.load_state_dict(result.state_dict)
    test = np.asarray(fold.test)
    mirrored = features.subset(np.arange(len(features)))
    mirrored.faces, mirrored.flows = mirror(features.faces, features.flows, features.flow_normalised)
    both = (evaluate(model, features, test, 64)["probs"] + evaluate(model, mirrored, test, 64)["probs"]) / 2
    np.testing.assert_allclose(result.probs, both, atol=1e-6)
    assert not np.allclose(result.probs, evaluate(model, features, test, 64)["probs"])
