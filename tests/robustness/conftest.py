"""The robustness suite's fixtures: the session's good inputs, and each case's private folder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from robustness.cases import Env
from robustness.inputs import Inputs, make_inputs


@pytest.fixture(scope="session")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    """A synthetic set, its store, a train config and a finished one-fold run (seconds, once)."""
    return make_inputs(tmp_path_factory.mktemp("robust"))


@pytest.fixture
def env(tmp_path: Path, inputs: Inputs, request: pytest.FixtureRequest) -> Iterator[Env]:
    """A case's private folder; what its builder put on the stack is undone after the case."""
    with ExitStack() as stack:
        yield Env(tmp=tmp_path, inputs=inputs, stack=stack, request=request)
