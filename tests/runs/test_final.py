"""The final model: trained on every subject, carrying the honest estimate of the same config."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lfd_tcmen.config.experiment import LEAKY
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.inference.predict import format_estimate
from lfd_tcmen.models.checkpoint import load_checkpoint
from lfd_tcmen.runs.experiment import run_experiment
from lfd_tcmen.runs.final import NO_ESTIMATE, final_config, final_models, read_estimate, record_estimate
from lfd_tcmen.runs.seeds import run_seeds
from toys import make_config as toy_config
from toys import make_features as toy_features


@pytest.fixture(scope="module")
def loso_run(tmp_path_factory):
    """A finished LOSO run of the toy config (4 subjects, one epoch)."""
    features, config = toy_features(), toy_config(epochs=1)
    out = tmp_path_factory.mktemp("loso") / "run"
    summary = run_experiment(config, features, out, progress=False)
    return out, config, features, summary.metrics


def test_the_estimate_is_the_loso_runs_overall_scores_and_lands_in_the_final_model(loso_run, tmp_path):
    run, config, features, metrics = loso_run
    estimate = read_estimate(run, replace(config, name="other name", seed=9))  # name, seed: free
    assert estimate["recorded"] and estimate["run"] == str(run.resolve()) and estimate["folds"] == "4/4"
    assert estimate["overall"] == {k: metrics["overall"][k] for k in ("uf1", "uar", "accuracy", "n")}
    assert (estimate["split"], estimate["protocol"]) == ("loso", "honest")

    final = tmp_path / "final"
    run_experiment(final_config(config), features, final, progress=False)
    (model,) = final_models(final)
    record_estimate([model], estimate)
    ckpt = load_checkpoint(model)
    assert ckpt.extra["estimate"] == estimate and ckpt.extra["final"] is True
    assert ckpt.extra["train_subjects"] == sorted(set(features.subjects))
    o = metrics["overall"]
    assert f"UF1 {o['uf1']:.4f}  UAR {o['uar']:.4f}" in format_estimate(ckpt.extra["estimate"])
    record_estimate([model], None)
    assert load_checkpoint(model).extra["estimate"] == NO_ESTIMATE
    assert format_estimate(NO_ESTIMATE).startswith("honest estimate: no honest estimate recorded")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c.override(epochs=2), r"config differs from this one \(train\.epochs: 1 there, 2 here\)"),
        (lambda c: c.with_train(lr=0.01), r"train\.lr: 0\.003 there, 0\.01 here"),
    ],
)
def test_an_estimate_of_another_config_is_refused(loso_run, change, message):
    run, config, _, _ = loso_run
    with pytest.raises(LFDError, match=message):
        read_estimate(run, change(config))


def test_a_partial_leaky_or_missing_run_is_refused(tmp_path, features, make_config):
    config = make_config(epochs=1)
    run_experiment(config, features, tmp_path / "partial", fold_names=["toy/s0"], progress=False)
    with pytest.raises(LFDError, match=r"the run is partial \(1 of 4 folds\)"):
        read_estimate(tmp_path / "partial", config)
    leaky = config.override(protocol=LEAKY)
    run_experiment(leaky, features, tmp_path / "leaky", fold_names=["toy/s0"], progress=False)
    with pytest.raises(LFDError, match="leaky-best-epoch .* not an honest estimate"):
        read_estimate(tmp_path / "leaky", config)
    with pytest.raises(LFDError, match="not a run folder"):
        read_estimate(tmp_path / "nothing", config)


def test_a_multi_seed_run_gives_the_mean_over_seeds_and_the_ensemble(tmp_path, features, make_config):
    config = make_config(epochs=1)
    _, summary = run_seeds(config, features, tmp_path / "run", (0, 1), progress=False)
    estimate = read_estimate(tmp_path / "run", config)
    assert estimate["seeds"] == [0, 1] and estimate["ensemble"] == estimate["overall"]
    assert estimate["seed_mean"]["uf1"] == pytest.approx(summary["mean"]["uf1"])
    assert estimate["ensemble"]["uar"] == summary["ensemble"]["uar"]
    assert "2 seeds" in format_estimate(estimate) and "seed ensemble UF1" in format_estimate(estimate)
