"""Re-rendered flows (train.flow_jitter): in range, per channel, seeded; off changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from lfd_tcmen.config.experiment import ExperimentConfig
from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.splits import loso_folds
from lfd_tcmen.training.augment import MAX_GAMMA, MIN_GAIN, rerender
from lfd_tcmen.training.fold import train_fold


def _flows(n: int = 64) -> np.ndarray:
    return np.random.default_rng(0).random((n, 2, 3, 6, 6)).astype(np.float32)


def test_every_sample_is_redrawn_monotonically_within_range_at_p_1():
    flows = _flows()
    drawn = rerender(flows, np.random.default_rng(1), 1.0)
    assert drawn.dtype == flows.dtype and drawn.shape == flows.shape
    assert drawn.min() >= 0.0 and drawn.max() <= 1.0
    assert not np.isclose(drawn, flows).all(axis=(-2, -1)).any()  # every channel of every sample moved
    # a tone curve and a window are increasing: each channel keeps its pixels' order
    a = flows.reshape(*flows.shape[:3], -1)
    b = drawn.reshape(*drawn.shape[:3], -1)
    assert (np.argsort(a, axis=-1) == np.argsort(b, axis=-1)).all()
    # the darkest and brightest value a channel can reach under the drawn curves
    zero, one = (
        rerender(np.zeros_like(flows), np.random.default_rng(1), 1.0),
        rerender(np.ones_like(flows), np.random.default_rng(1), 1.0),
    )
    assert (one - zero).min() >= MIN_GAIN - 1e-6  # the window keeps at least MIN_GAIN of the range


def test_the_tone_curve_stays_within_its_bounds():
    mid = np.full((500, 1, 3, 1, 1), 0.5, dtype=np.float32)
    zero, one = np.zeros_like(mid), np.ones_like(mid)

    def drawn(flows: np.ndarray) -> np.ndarray:  # the same draws for each input
        return rerender(flows, np.random.default_rng(4), 1.0)

    a, b = drawn(one) - drawn(zero), drawn(zero)
    gamma = np.log((drawn(mid) - b) / a) / np.log(0.5)
    assert gamma.min() >= 1 / MAX_GAMMA - 1e-4 and gamma.max() <= MAX_GAMMA + 1e-4
    assert gamma.min() < 0.8 and gamma.max() > 1.25  # the whole range is drawn


def test_a_channel_gets_its_own_curve():
    flows = np.tile(np.linspace(0, 1, 36, dtype=np.float32).reshape(6, 6), (8, 2, 3, 1, 1))
    drawn = rerender(flows, np.random.default_rng(2), 1.0)
    per_channel = drawn.reshape(8, 6, -1)
    assert len({tuple(np.round(c, 5)) for c in per_channel[0]}) == 6


def test_probability_chooses_samples_and_leaves_the_rest_untouched():
    flows = _flows(400)
    assert np.array_equal(rerender(flows, np.random.default_rng(3), 0.0), flows)
    drawn = rerender(flows, np.random.default_rng(3), 0.25)
    moved = ~np.isclose(drawn, flows).all(axis=(1, 2, 3, 4))
    assert 60 < moved.sum() < 140  # ~100 of 400
    assert np.array_equal(rerender(flows, np.random.default_rng(3), 0.25), drawn)  # seeded


def test_jitter_is_seeded_changes_training_and_off_draws_nothing(features, make_config):
    fold = loso_folds(features.subjects)[0]
    config = make_config(epochs=2, flow_jitter=0.5)
    one = train_fold(features, fold, config, 3, progress=False)["honest"]
    two = train_fold(features, fold, config, 3, progress=False)["honest"]
    plain = train_fold(features, fold, make_config(epochs=2), 3, progress=False)["honest"]
    off = train_fold(features, fold, make_config(epochs=2, flow_jitter=0.0), 3, progress=False)["honest"]
    assert np.array_equal(one.probs, two.probs) and np.isfinite(one.probs).all()
    assert not np.array_equal(one.probs, plain.probs)
    assert np.array_equal(off.probs, plain.probs)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_a_probability_outside_0_1_is_refused(make_config, p):
    with pytest.raises(LFDError, match="flow_jitter"):
        make_config(flow_jitter=p)


def test_unnormalised_flows_are_refused():
    raw = {"data": {"flow_norm": "none"}, "train": {"flow_jitter": 0.5}}
    with pytest.raises(LFDError, match="flow_jitter .* data.flow_norm minmax"):
        ExperimentConfig.from_dict(raw, "exp.yaml")
