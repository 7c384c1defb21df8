"""Result files: atomic, and readable like any file the user creates."""

from __future__ import annotations

import os

from lfd_tcmen.engine import outputs


def test_results_are_written_with_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        outputs.atomic_write_text(tmp_path / "a.txt", "x")
        final = outputs.write_fold(
            tmp_path / "run",
            "toy/s0",
            info={"epoch": 1},
            arrays={"probs": [1.0]},
            prediction_rows=[],
            save_model=lambda p: p.write_bytes(b""),
        )
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert final.stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "a.txt").read_text() == "x" and not list(tmp_path.glob(".a.txt.*"))
