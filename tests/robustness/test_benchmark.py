"""``lfd-tcmen benchmark``: damaged benchmark configs, composite folders, options and --out.

Every case fails before any training: the composite folder is the session's tiny one (three
CASME II subjects, tests/toys.py), copied where a case damages it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lfd_tcmen.core.locks import exclusive
from robustness.cases import (
    Case,
    Env,
    Given,
    a_file,
    check,
    closed_address,
    empty,
    not_utf8,
    params,
    replace_with_folder,
    truncate,
    within,
)
from robustness.inputs import copy_tree

GT = "combined_3class_gt.csv"


def _bench(env: Env, *extra: str, config: Path | None = None, data: Path | None = None) -> list[str]:
    return [
        "benchmark", "--config", str(config or env.inputs.bench_config),
        "--data", str(data or env.inputs.composite), "--out", str(env.tmp / "bench"), "--no-progress",
        "--methods", "lfd_tcmen", "--protocols", "honest", "--folds", "sub01", *extra,
    ]  # fmt: skip


def _composite(env: Env) -> Path:
    return copy_tree(env.inputs.composite, env.tmp / "composite")


def _gt_lines(env: Env) -> tuple[Path, Path, list[str]]:
    data = _composite(env)
    return data, data / GT, (data / GT).read_text().splitlines()


def _on(env: Env, data: Path, *names: str) -> Given:
    return Given(_bench(env, data=data), names)


def _option(env: Env, option: str, value: str) -> Given:
    argv = _bench(env)
    argv[argv.index(option) + 1] = value
    return Given(argv)


# ----------------------------------------------------------------------------- the config
def config_missing(env: Env) -> Given:
    path = env.tmp / "absent.yaml"
    return Given(_bench(env, config=path), (str(path),))


def config_not_utf8(env: Env) -> Given:
    path = not_utf8(env.tmp / "bench.yaml", env.inputs.bench_config.read_text() + "# caf\xe9\n")
    return Given(_bench(env, config=path), (str(path),))


def config_empty(env: Env) -> Given:
    path = empty(env.tmp / "bench.yaml")
    return Given(_bench(env, config=path), (str(path),))


def config_unknown_key(env: Env) -> Given:
    path = env.tmp / "bench.yaml"
    path.write_text(env.inputs.bench_config.read_text().replace("protocols:", "protocolz:"))
    return Given(_bench(env, config=path), (str(path),))


def _config_changed(old: str, new: str) -> object:
    """A builder: the benchmark config with ``old`` replaced by ``new`` (issue 35 item 8)."""

    def build(env: Env) -> Given:
        path = env.tmp / "bench.yaml"
        path.write_text(env.inputs.bench_config.read_text().replace(old, new, 1))
        return Given(_bench(env, config=path), (str(path),))

    return build


# ----------------------------------------------------------------------------- options
def ray_address_unreachable(env: Env) -> Given:  # issue 35 item 13: Ray retried forever
    address = closed_address()
    return Given(_bench(env, "--workers", "2", "--ray-address", address), (address,), verify=within(30))


def methods_empty(env: Env) -> Given:  # issue 13.6: "" used to mean every method
    return _option(env, "--methods", "")


def methods_only_commas(env: Env) -> Given:  # issue 13.6
    return _option(env, "--methods", ",")


def methods_unknown(env: Env) -> Given:
    return _option(env, "--methods", "nope")


def folds_empty(env: Env) -> Given:  # issue 13.6
    return _option(env, "--folds", ",")


def protocols_empty(env: Env) -> Given:
    return _option(env, "--protocols", ",")


def resamples_zero(env: Env) -> Given:  # used to fail after training, in the bootstrap
    return Given(_bench(env, "--resamples", "0"))


def out_is_a_file(env: Env) -> Given:
    out = a_file(env)
    argv = _bench(env)
    argv[argv.index("--out") + 1] = str(out)
    return Given(argv, (str(out),))


def out_locked(env: Env) -> Given:  # issue 13.1: a second benchmark on one OUT is refused
    env.stack.enter_context(exclusive(env.tmp / "bench", "benchmark folder"))
    return Given(_bench(env), (str(env.tmp / "bench"),))


def run_folder_locked(env: Env) -> Given:  # issue 13.1: a train writing one of its run folders
    run = env.tmp / "bench" / "runs" / "lfd_tcmen__honest"
    env.stack.enter_context(exclusive(run, "run folder"))
    return Given(_bench(env), (str(run),))


# ----------------------------------------------------------------------------- the composite folder
def data_missing(env: Env) -> Given:
    data = env.tmp / "nowhere"
    return _on(env, data, str(data))


def gt_missing(env: Env) -> Given:
    data, gt, _ = _gt_lines(env)
    gt.unlink()
    return _on(env, data, str(gt))


def gt_empty(env: Env) -> Given:
    data, gt, _ = _gt_lines(env)
    empty(gt)
    return _on(env, data, str(gt))


def gt_not_utf8(env: Env) -> Given:
    data, gt, lines = _gt_lines(env)
    not_utf8(gt, "\n".join([*lines, "casme2,sub01,caf\xe9,0"]) + "\n")
    return _on(env, data, str(gt))


def gt_duplicated_row(env: Env) -> Given:  # issue 13.5: trained and scored twice
    data, gt, lines = _gt_lines(env)
    gt.write_text("\n".join([*lines, lines[4]]) + "\n")
    last = len(lines) + 1
    return _on(env, data, str(gt), f"row {last}", f"rows 5 and {last}")


def gt_label_out_of_range(env: Env) -> Given:
    data, gt, lines = _gt_lines(env)
    lines[3] = lines[3].rsplit(",", 1)[0] + ",3"
    gt.write_text("\n".join(lines) + "\n")
    return _on(env, data, str(gt), "row 4")


def gt_short_row(env: Env) -> Given:
    data, gt, lines = _gt_lines(env)
    lines[1] = lines[1].rsplit(",", 1)[0]
    gt.write_text("\n".join(lines) + "\n")
    return _on(env, data, str(gt), "row 2")


def _flow(data: Path) -> Path:
    return sorted((data / "flow_uvos_28").glob("*.png"))[0]


def flow_missing(env: Env) -> Given:
    data = _composite(env)
    _flow(data).unlink()
    return _on(env, data, str(data / GT))


def flow_empty(env: Env) -> Given:
    data = _composite(env)
    flow = empty(_flow(data))
    return _on(env, data, str(flow))


def flow_truncated(env: Env) -> Given:
    data = _composite(env)
    flow = truncate(_flow(data))
    return _on(env, data, str(flow))


def flow_crc_damaged(env: Env) -> Given:  # issue 35 item 14: libpng's line, not loose on stderr
    data = _composite(env)
    flow = _flow(data)
    raw = bytearray(flow.read_bytes())
    idat = raw.index(b"IDAT")
    length = int.from_bytes(raw[idat - 4 : idat], "big")
    raw[idat + 4 + length] ^= 0xFF  # the chunk's CRC: libpng refuses the image and says why on fd 2
    flow.write_bytes(bytes(raw))
    return _on(env, data, str(flow))


def flow_folder(env: Env) -> Given:
    data = _composite(env)
    flow = replace_with_folder(_flow(data))
    return _on(env, data, str(flow))


def face_text_file(env: Env) -> Given:
    data = _composite(env)
    face = sorted((data / "apex_face_224").glob("*.jpg"))[0]
    face.write_text("not an image\n")
    return _on(env, data, str(face))


CASES = [
    Case("config-missing", config_missing, 2, "No such file or directory"),
    Case("config-not-utf8", config_not_utf8, 2, "not UTF-8"),
    Case("config-empty", config_empty, 2, "methods"),
    Case("config-unknown-key", config_unknown_key, 2, "protocolz"),
    Case("ray-address-unreachable", ray_address_unreachable, 2, "cannot reach a Ray cluster at"),
    Case(
        "config-seed-negative",
        _config_changed("seed: 1", "seed: -1"),
        2,
        "seeds: each must be an integer in [0,",
    ),
    Case(
        "config-lr-infinite",
        _config_changed("lr: 0.003", "lr: .inf"),
        2,
        "train.lr: expected a finite number",
    ),
    Case("methods-empty", methods_empty, 2, "--methods is empty"),
    Case("methods-only-commas", methods_only_commas, 2, "--methods is empty"),
    Case("methods-unknown", methods_unknown, 2, "unknown method 'nope'"),
    Case("folds-empty", folds_empty, 2, "--folds is empty"),
    Case("protocols-empty", protocols_empty, 2, "--protocols is empty"),
    Case("resamples-out-of-range", resamples_zero, 2, "--resamples must be >= 1, got 0"),
    Case("out-is-a-file", out_is_a_file, 2, "File exists"),
    Case("out-locked", out_locked, 2, "in use by another lfd-tcmen process (PID"),
    Case("run-folder-locked", run_folder_locked, 2, "in use by another lfd-tcmen process (PID"),
    Case("data-missing", data_missing, 2, "not found"),
    Case("gt-missing", gt_missing, 2, "ground truth file not found"),
    Case("gt-empty", gt_empty, 2, "the ground truth file has no rows"),
    Case("gt-not-utf8", gt_not_utf8, 2, "not UTF-8"),
    Case("gt-duplicated-row", gt_duplicated_row, 2, "listed twice"),
    Case("gt-label-out-of-range", gt_label_out_of_range, 2, "unknown label '3'"),
    Case("gt-short-row", gt_short_row, 2, "expected 4 columns"),
    Case("flow-missing", flow_missing, 2, "flow"),
    Case("flow-empty", flow_empty, 2, "flow"),
    Case("flow-truncated", flow_truncated, 2, "flow"),
    Case("flow-is-a-folder", flow_folder, 2, "flow"),
    Case("flow-png-crc-damaged", flow_crc_damaged, 2, "libpng"),
    Case("face-text-file", face_text_file, 2, "face"),
]


@pytest.mark.parametrize("case", params(*CASES))
def test_benchmark(case: Case, env: Env, capfd: pytest.CaptureFixture[str]) -> None:
    assert case.fragment in check(case, env, capfd)
