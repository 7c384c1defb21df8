"""Shared fixtures: where the real data is, and skipping cleanly where it is not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from toys import make_config, make_features

# One intra-op thread: the suite's tests are small, and two threads fighting over a shared
# 2-core machine made them up to 20x slower. Results do not depend on the thread count.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The real-data folder: ``$LFD_TCMEN_DATA`` if set, else ``../shared/data`` beside the repo."""
    env = os.environ.get("LFD_TCMEN_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("real data not found: set LFD_TCMEN_DATA or place it at ../shared/data")
    return path


@pytest.fixture
def features():
    """A 4-subject toy FeatureSet (tests/toys.py)."""
    return make_features()


@pytest.fixture(name="make_features", scope="session")
def make_features_fixture():
    """The toy-set factory, for tests that need another size."""
    return make_features


@pytest.fixture(name="make_config", scope="session")
def make_config_fixture():
    """The toy-config factory: ``make_config(epochs=2, protocol="honest", **train)``."""
    return make_config
