"""Result-file helpers: plain values for JSON/YAML, atomic JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lfd_tcmen.core.files import plain, write_json


def test_plain_turns_numpy_tuples_and_paths_into_json_types():
    value = {1: (np.int64(2), np.float32(0.5)), "a": np.arange(3), "p": Path("x/y"), "b": np.bool_(True)}
    assert plain(value) == {"1": [2, 0.5], "a": [0, 1, 2], "p": "x/y", "b": True}
    assert type(plain(np.int64(2))) is int and type(plain(np.float32(0.5))) is float


def test_write_json_is_plain_and_complete(tmp_path):
    write_json(tmp_path / "m.json", {"uf1": np.float64(0.75), "folds": ("a", "b")})
    assert json.loads((tmp_path / "m.json").read_text()) == {"uf1": 0.75, "folds": ["a", "b"]}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
