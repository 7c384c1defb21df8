"""``lfd-tcmen train``: damaged configs, stores, run folders and options.

A damaged finished fold on ``--resume`` is retrained with one warning naming it (exit 0);
everything else that is wrong stops the run before any training, in one error line.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from lfd_tcmen.core.locks import exclusive
from robustness.cases import (
    Case,
    Env,
    Given,
    a_file,
    change_a_prediction,
    check,
    closed_address,
    empty,
    flip_bytes,
    full_disk,
    not_utf8,
    params,
    replace_with_folder,
    truncate,
    unreadable,
    within,
)
from robustness.inputs import FOLD, TRAIN_CONFIG, copy_tree, sample_key


def _train(config: object, out: object, *extra: str) -> list[str]:
    return ["train", "--config", str(config), "--out", str(out), "--no-progress", *extra]


def _store(env: Env) -> tuple:
    """A private copy of the store and a config on it."""
    store = copy_tree(env.inputs.store, env.tmp / "store")
    config = env.tmp / "train.yaml"
    config.write_text(TRAIN_CONFIG.format(store=store))
    return store, config


def _run(env: Env) -> object:
    """A private copy of the finished one-fold run."""
    return copy_tree(env.inputs.run, env.tmp / "run")


def _resume(env: Env, run: object) -> list[str]:
    return _train(env.inputs.train_config, run, "--folds", "sub01", "--resume")


def _config_text(env: Env, text: str) -> object:
    path = env.tmp / "train.yaml"
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- the config
def config_missing(env: Env) -> Given:
    path = env.tmp / "absent.yaml"
    return Given(_train(path, env.tmp / "run"), (str(path),))


def config_empty(env: Env) -> Given:
    path = empty(env.tmp / "train.yaml")
    return Given(_train(path, env.tmp / "run"), (str(path),))


def config_not_utf8(env: Env) -> Given:  # issue 13, noisy: UnicodeDecodeError traceback
    path = not_utf8(env.tmp / "train.yaml", env.inputs.train_config.read_text() + "# caf\xe9\n")
    return Given(_train(path, env.tmp / "run"), (str(path),))


def config_folder(env: Env) -> Given:
    path = replace_with_folder(env.tmp / "train.yaml")
    return Given(_train(path, env.tmp / "run"), (str(path),))


def config_truncated(env: Env) -> Given:
    text = env.inputs.train_config.read_text()
    path = _config_text(env, text[: text.index("model:") + 12])
    return Given(_train(path, env.tmp / "run"), (str(path),))


def config_unknown_key(env: Env) -> Given:
    path = _config_text(env, env.inputs.train_config.read_text().replace("epochs:", "epochz:"))
    return Given(_train(path, env.tmp / "run"), (str(path),))


def config_epochs_out_of_range(env: Env) -> Given:
    path = _config_text(env, env.inputs.train_config.read_text().replace("epochs: 1", "epochs: -3"))
    return Given(_train(path, env.tmp / "run"), (str(path),))


def config_epochs_not_a_number(env: Env) -> Given:
    path = _config_text(env, env.inputs.train_config.read_text().replace("epochs: 1", "epochs: many"))
    return Given(_train(path, env.tmp / "run"), (str(path),))


def _config_value(text: str, where: str = "train") -> object:
    """A builder: the train config with ``text`` added to its ``where`` section (issue 35 item 8:
    values no training can use, refused at load naming the key)."""

    def build(env: Env) -> Given:
        config = env.inputs.train_config.read_text()
        if where == "train":
            config = config.replace("threads: 1}", f"threads: 1, {text}}}")
        elif where == "model":
            config = config.replace("face_resolution: 16}", f"face_resolution: 16, {text}}}")
        else:
            config = config.replace("seed: 1", text)
        path = _config_text(env, config)
        return Given(_train(path, env.tmp / "run"), (str(path),))

    return build


# ----------------------------------------------------------------------------- the store it names
def store_missing(env: Env) -> Given:
    store = env.tmp / "no-store"
    path = _config_text(env, TRAIN_CONFIG.format(store=store))
    return Given(_train(path, env.tmp / "run"), (str(store),))


def manifest_empty(env: Env) -> Given:
    store, config = _store(env)
    manifest = empty(store / "manifest.json")
    return Given(_train(config, env.tmp / "run"), (str(manifest),))


def manifest_truncated(env: Env) -> Given:
    store, config = _store(env)
    manifest = truncate(store / "manifest.json")
    return Given(_train(config, env.tmp / "run"), (str(manifest),))


def manifest_not_utf8(env: Env) -> Given:
    store, config = _store(env)
    manifest = store / "manifest.json"
    not_utf8(manifest, manifest.read_text().replace("happiness", "caf\xe9"))
    return Given(_train(config, env.tmp / "run"), (str(manifest),))


def manifest_label_out_of_range(env: Env) -> Given:  # issue 13, noisy: failed only at the summary
    store, config = _store(env)
    manifest = store / "manifest.json"
    data = json.loads(manifest.read_text())
    data["samples"][2]["label"] = 7
    manifest.write_text(json.dumps(data))
    return Given(_train(config, env.tmp / "run"), (str(manifest), "sample 3", "label 7"))


def entry_zero_bytes(env: Env) -> Given:  # issue 13, noisy: EOFError traceback
    store, config = _store(env)
    (entry,) = store.glob(f"casme2__{sample_key(env.inputs, 1)}.*.npz")
    empty(entry)
    return Given(_train(config, env.tmp / "run"), (str(entry),))


def entry_truncated(env: Env) -> Given:
    store, config = _store(env)
    (entry,) = store.glob(f"casme2__{sample_key(env.inputs, 1)}.*.npz")
    truncate(entry)
    return Given(_train(config, env.tmp / "run"), (str(entry),))


def entry_missing(env: Env) -> Given:
    store, config = _store(env)
    (entry,) = store.glob(f"casme2__{sample_key(env.inputs, 1)}.*.npz")
    entry.unlink()
    return Given(_train(config, env.tmp / "run"), (str(entry),))


def entry_pickled(env: Env) -> Given:  # a crafted object array must never be unpickled
    store, config = _store(env)
    (entry,) = store.glob(f"casme2__{sample_key(env.inputs, 1)}.*.npz")
    with np.load(entry, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["flows"] = np.array([print], dtype=object)
    with entry.open("wb") as fh:
        np.savez(fh, **arrays)
    return Given(_train(config, env.tmp / "run"), (str(entry),))


# ----------------------------------------------------------------------------- options and --out
def folds_empty(env: Env) -> Given:  # issue 13.6: "," used to mean every fold
    return Given(_train(env.inputs.train_config, env.tmp / "run", "--folds", ","))


def folds_unknown(env: Env) -> Given:
    return Given(_train(env.inputs.train_config, env.tmp / "run", "--folds", "sub09"))


def seeds_not_integers(env: Env) -> Given:
    return Given(_train(env.inputs.train_config, env.tmp / "run", "--seeds", "1,x"))


def workers_zero(env: Env) -> Given:
    return Given(_train(env.inputs.train_config, env.tmp / "run", "--workers", "0"))


def out_is_a_file(env: Env) -> Given:
    out = a_file(env)
    return Given(_train(env.inputs.train_config, out, "--folds", "sub01"), (str(out),))


def out_unreadable(env: Env) -> Given:
    run = _run(env)
    unreadable(env, run)
    return Given(_resume(env, run), (str(run),))


def out_locked(env: Env) -> Given:  # issue 13.1: a second writer is refused, naming the holder
    run = env.tmp / "run"
    env.stack.enter_context(exclusive(run, "run folder"))
    return Given(_train(env.inputs.train_config, run, "--folds", "sub01"), (str(run),))


def finished_without_resume(env: Env) -> Given:
    run = _run(env)
    return Given(_train(env.inputs.train_config, run, "--folds", "sub01"), (str(run),))


def resume_with_another_seed(env: Env) -> Given:  # issue 13.1: seed-7 config beside seed-1 folds
    run = _run(env)
    return Given([*_resume(env, run), "--seed", "7"], (str(run),))


def resume_run_json_damaged(env: Env) -> Given:
    run = _run(env)
    info = truncate(run / "run.json")
    return Given(_resume(env, run), (str(info),))


def resume_config_not_utf8(env: Env) -> Given:
    run = _run(env)
    saved = run / "config.yaml"
    not_utf8(saved, saved.read_text() + "# caf\xe9\n")
    return Given(_resume(env, run), (str(saved),))


# ----------------------------------------------------------------------------- a finished fold, damaged
def _fold_file(env: Env, name: str) -> tuple:
    run = _run(env)
    return run, run / "folds" / FOLD / name


def resume_predictions_truncated(env: Env) -> Given:  # issue 13.10
    run, path = _fold_file(env, "predictions.csv")
    text = path.read_text()
    path.write_text(text[: text.rindex("\n", 0, len(text) - 1) + 1])  # the last row cut off
    return Given(_resume(env, run), (str(path.parent),))


def resume_arrays_damaged(env: Env) -> Given:  # issue 13, noisy: BadZipFile traceback
    run, path = _fold_file(env, "arrays.npz")
    truncate(path)
    return Given(_resume(env, run), (str(path.parent), "arrays.npz unreadable"))


def resume_arrays_zero_bytes(env: Env) -> Given:
    run, path = _fold_file(env, "arrays.npz")
    empty(path)
    return Given(_resume(env, run), (str(path.parent), "arrays.npz unreadable"))


def resume_model_flipped(env: Env) -> Given:
    run, path = _fold_file(env, "model.pt")
    with zipfile.ZipFile(path) as zf:  # flip bytes inside the largest member's data
        info = max(zf.infolist(), key=lambda i: i.compress_size)
    raw = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size // 2
    raw[start : start + 16] = bytes(b ^ 0xFF for b in raw[start : start + 16])
    path.write_bytes(bytes(raw))
    return Given(_resume(env, run), (str(path.parent), "model.pt"))


def resume_history_not_json(env: Env) -> Given:
    run, path = _fold_file(env, "history.json")
    flip_bytes(path, 4)
    return Given(_resume(env, run), (str(path.parent), "history.json unreadable"))


def resume_predictions_edited(env: Env) -> Given:  # issue 35 item 7: kept, then read by compare
    run = _run(env)
    csv = run / "predictions.csv"
    original = csv.read_text()
    change_a_prediction(csv)

    def rebuilt() -> None:
        assert csv.read_text() == original

    return Given(_resume(env, run), (str(csv), "metrics.json beside it says"), verify=rebuilt)


def disk_full(env: Env) -> Given:  # issue 35 item 14: a traceback (an OSError naming no file)
    full_disk(env)
    out = env.tmp / "run"
    return Given(
        _train(env.inputs.train_config, out, "--folds", "sub01"), (str(out), "No space left on device")
    )


def ray_address_unreachable(env: Env) -> Given:  # issue 35 item 13: Ray retried forever
    address = closed_address()
    argv = _train(env.inputs.train_config, env.tmp / "run", "--workers", "2", "--ray-address", address)
    return Given(argv, (address,), verify=within(30))


CASES = [
    Case("config-missing", config_missing, 2, "cannot read config"),
    Case("config-empty", config_empty, 2, "data.path is required"),
    Case("config-not-utf8", config_not_utf8, 2, "not UTF-8 text"),
    Case("config-folder", config_folder, 2, "Is a directory"),
    Case("config-truncated", config_truncated, 2, "model"),
    Case("config-unknown-key", config_unknown_key, 2, "train.epochz"),
    Case("config-epochs-out-of-range", config_epochs_out_of_range, 2, "epochs"),
    Case("config-epochs-not-a-number", config_epochs_not_a_number, 2, "epochs"),
    Case("config-lr-infinite", _config_value("lr: .inf"), 2, "train.lr: expected a finite number, got inf"),
    Case("config-lr-nan", _config_value("lr: .nan"), 2, "train.lr: expected a finite number, got nan"),
    Case("config-lr-nan-text", _config_value("lr: nan"), 2, "train.lr: expected a finite number, got 'nan'"),
    Case(
        "config-min-lr-ratio-negative",
        _config_value("min_lr_ratio: -2"),
        2,
        "train.min_lr_ratio must be in [0, 1]",
    ),
    Case(
        "config-weight-decay-negative",
        _config_value("weight_decay: -0.1"),
        2,
        "train.weight_decay must be >= 0",
    ),
    Case(
        "config-weight-decay-nan",
        _config_value("weight_decay: .nan"),
        2,
        "train.weight_decay: expected a finite",
    ),
    Case(
        "config-seed-negative",
        _config_value("seed: -1", "top"),
        2,
        "seed must be an integer in [0, 4294967295]",
    ),
    Case(
        "config-seed-huge",
        _config_value("seed: 99999999999999999999", "top"),
        2,
        "seed must be an integer in",
    ),
    Case(
        "config-int-given-a-fraction",
        _config_value("batch_size: 4.5"),
        2,
        "train.batch_size: expected an integer",
    ),
    Case(
        "config-grid-int-given-a-fraction",
        _config_value("select_grid: {train.batch_size: [4.5]}"),
        2,
        "train.select_grid.train.batch_size: expected integers, got 4.5",
    ),
    Case(  # issue 36: one spelling of a model parameter, and a wrong one fails at load
        "config-grid-model-param-old-spelling",
        _config_value("protocol: honest-nested, select_grid: {model.w_orth: [0, 1]}"),
        2,
        "spelled model.params.<param>",
    ),
    Case(
        "config-grid-unknown-model-param",
        _config_value("protocol: honest-nested, select_grid: {model.params.w_nope: [0, 1]}"),
        2,
        "train.select_grid.model.params.w_nope",
    ),
    Case(
        "config-model-param-a-fraction",
        _config_value("identity_dim: 4.5", "model"),
        2,
        "model.params.identity_dim: expected an integer, got 4.5",
    ),
    Case(
        "config-model-param-nan",
        _config_value("w_orth: .nan", "model"),
        2,
        "model.params.w_orth: expected a finite",
    ),
    Case("store-missing", store_missing, 2, "not found"),
    Case("manifest-empty", manifest_empty, 2, "cannot read manifest"),
    Case("manifest-truncated", manifest_truncated, 2, "cannot read manifest"),
    Case("manifest-not-utf8", manifest_not_utf8, 2, "cannot read manifest"),
    Case("manifest-label-out-of-range", manifest_label_out_of_range, 2, "is not a class index"),
    Case("store-entry-zero-bytes", entry_zero_bytes, 2, "rerun `lfd-tcmen prepare`"),
    Case("store-entry-truncated", entry_truncated, 2, "rerun `lfd-tcmen prepare`"),
    Case("store-entry-missing", entry_missing, 2, "feature file not found"),
    Case("store-entry-pickled", entry_pickled, 2, "rerun `lfd-tcmen prepare`"),
    Case("folds-empty", folds_empty, 2, "--folds is empty"),
    Case("folds-unknown", folds_unknown, 2, "unknown fold 'sub09'"),
    Case("seeds-not-integers", seeds_not_integers, 2, "--seeds: 'x' is not an integer"),
    Case("workers-zero", workers_zero, 2, "--workers must be >= 1"),
    Case("out-is-a-file", out_is_a_file, 2, "File exists"),
    Case("out-unreadable", out_unreadable, 2, "Permission denied", needs_permissions=True),
    Case("out-locked", out_locked, 2, "in use by another lfd-tcmen process (PID"),
    Case("finished-without-resume", finished_without_resume, 2, "--resume"),
    Case("resume-with-another-seed", resume_with_another_seed, 2, "seed"),
    Case("resume-run-json-damaged", resume_run_json_damaged, 2, "cannot resume: run.json is unreadable"),
    Case("resume-saved-config-not-utf8", resume_config_not_utf8, 2, "not UTF-8 text"),
    Case("resume-predictions-truncated", resume_predictions_truncated, 0, "retraining the fold"),
    Case("resume-arrays-truncated", resume_arrays_damaged, 0, "retraining the fold"),
    Case("resume-arrays-zero-bytes", resume_arrays_zero_bytes, 0, "retraining the fold"),
    Case("resume-model-flipped-bytes", resume_model_flipped, 0, "retraining the fold"),
    Case("resume-history-not-json", resume_history_not_json, 0, "retraining the fold"),
    Case("disk-full", disk_full, 2, "No space left on device"),
    Case("ray-address-unreachable", ray_address_unreachable, 2, "cannot reach a Ray cluster at"),
    Case("resume-predictions-edited", resume_predictions_edited, 0, "rebuilding it from the fold folders"),
]


@pytest.mark.parametrize("case", params(*CASES))
def test_train(case: Case, env: Env, capfd: pytest.CaptureFixture[str]) -> None:
    assert case.fragment in check(case, env, capfd)
