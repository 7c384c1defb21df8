"""Read prediction files of three formats and score them with the MEGC2019 metrics.

Formats (detected from the file's first non-empty line, see :func:`detect_format`):

- ``csv``: our predictions CSV, header required, columns ``dataset,subject,sample,label,pred``;
  its ``fold`` is kept when present and its ``p_<class>`` probabilities when asked for (others
  ignored). Row numbers in errors are file line numbers (the header is row 1).
- ``megc2019``: the challenge's submission log: a ``<db> <subject>`` header line per LOSO fold,
  then one ``<video> <ground truth> <prediction>`` line per test sample.
- ``python-log``: the print-out of STSTNet's ``main.py``: ``Subject: <name>``, then
  ``Predicted : [..]`` and ``Ground Truth: [..]`` lists (other lines are ignored). It names no
  dataset; each subject's dataset is inferred from the MEGC2019 composite's folder naming
  (:data:`MEGC2019_SUBJECT_PATTERNS`), and when any subject does not fit, rows get no dataset and
  only the overall score is given (a note says so).
"""

from __future__ import annotations

import ast
import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.files import read_json
from lfd_tcmen.evaluation.metrics import score_table

CSV_COLUMNS = ("dataset", "subject", "sample", "label", "pred")
FORMATS = ("csv", "megc2019", "python-log")

# subject folder names in the MEGC2019 composite: CASME II sub01, SMIC s01 (HS), SAMM 006
MEGC2019_SUBJECT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("casme2", re.compile(r"^sub\d{2}$")),
    ("smic", re.compile(r"^s\d{1,2}$")),
    ("samm", re.compile(r"^\d{3}$")),
)
MEGC2019_DATABASES = tuple(name for name, _ in MEGC2019_SUBJECT_PATTERNS)


@dataclass
class PredictionFile:
    """The rows of one prediction file.

    rows: dicts ``{"dataset": str | None, "subject": str, "sample": str | None, "label": int,
    "pred": int, "line": int}`` in file order (``line``: where the row is in the file), plus, for
    a predictions CSV, ``"fold"`` when it has that column and ``"probs"`` (a float per
    ``p_<class>`` column) when asked for;
    notes: what the reader had to assume (shown to the user); num_classes and class_names: what
    the file itself says (a predictions CSV's ``p_<class>`` columns), else None.
    """

    path: Path
    format: str
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    num_classes: int | None = None
    class_names: tuple[str, ...] | None = None  # a predictions CSV's p_<class> columns, in order


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise LFDError(_not_found(path), path) from None
    except UnicodeDecodeError as err:
        raise LFDError(f"not a text file ({err.reason})", path) from None


def _not_found(path: Path) -> str:
    """The "file not found" message, saying why when it is the predictions of a run that tests nothing."""
    for folder in (path.parent, path):  # RUN/predictions.csv, or the run folder itself
        metrics = read_json(folder / "metrics.json") if folder.is_dir() else None
        if metrics and metrics.get("test_samples") == 0:
            return (
                "file not found: this run (data.split all) has no test samples, so no predictions; "
                "score its model on another dataset with `lfd-tcmen evaluate`"
            )
    return "file not found"


def _int(value: str | None, what: str, path: Path, row: int) -> int:
    text = (value or "").strip()
    if not text:
        raise LFDError(f"missing {what}", path, row)
    try:
        return int(text)
    except ValueError:
        raise LFDError(f"{what} {text!r} is not an integer class index", path, row) from None


def _check_width(record: dict[Any, Any], width: int, path: Path, row: int) -> None:
    """A row with more fields than the header: its values sit under other columns (an unquoted
    comma in a sample name shifts everything after it), so nothing in it can be trusted."""
    extra = record.get(None)  # csv.DictReader's place for fields beyond the header
    if extra:
        raise LFDError(
            f"{width + len(extra)} fields where the header has {width}: a value holding a comma must be quoted "
            '(e.g. "EP01,2")',
            path,
            row,
        )


def _probability(value: str | None, what: str, path: Path, row: int) -> float:
    text = (value or "").strip()
    try:
        p = float(text)
    except ValueError:
        raise LFDError(f"{what} {text!r} is not a number", path, row) from None
    if not 0.0 <= p <= 1.0:
        raise LFDError(f"{what} {text} is not a probability", path, row)
    return p


def detect_format(path: str | Path) -> str:
    """``"csv"``, ``"megc2019"`` or ``"python-log"``, from the first non-empty line."""
    path = Path(path)
    for number, line in enumerate(_read_lines(path), start=1):
        text = line.strip()
        if not text:
            continue
        if text.startswith("Subject:"):
            return "python-log"
        if "," in text:
            header = [h.strip().lower() for h in text.split(",")]
            if "label" in header and "pred" in header:
                return "csv"
            raise LFDError(
                f"looks like a CSV but the header lacks 'label' and 'pred' (need columns {','.join(CSV_COLUMNS)})",
                path,
                number,
            )
        if len(text.split()) == 2:
            return "megc2019"
        raise LFDError(
            "unrecognised prediction file: expected a CSV header, a MEGC2019 '<db> <subject>' line "
            "or a 'Subject:' line",
            path,
            number,
        )
    raise LFDError("empty prediction file", path)


def read_predictions_csv(path: str | Path, probabilities: bool = False) -> PredictionFile:
    """Rows of a ``dataset,subject,sample,label,pred`` CSV (header required); with
    ``probabilities``, each row's ``p_<class>`` columns too, as ``"probs"`` (required then)."""
    path = Path(path)
    lines = _read_lines(path)
    reader = csv.DictReader(lines)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise LFDError(f"header lacks column(s) {', '.join(missing)}; need {','.join(CSV_COLUMNS)}", path, 1)
    repeated = [h for h in dict.fromkeys(header) if header.count(h) > 1]
    if repeated:  # csv.DictReader would keep the last one silently
        where = ", ".join(
            f"'{h}' (columns {', '.join(str(i + 1) for i, x in enumerate(header) if x == h)})"
            for h in repeated
        )
        raise LFDError(f"the header names {where} more than once; which one holds the values?", path, 1)
    reader.fieldnames = header
    names = tuple(h[2:] for h in header if h.startswith("p_"))
    rows = []
    for record in reader:
        number = reader.line_num
        if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
            continue  # blank line
        _check_width(record, len(header), path, number)
        row: dict[str, Any] = {}
        for key in ("dataset", "subject", "sample"):
            value = (record.get(key) or "").strip()
            if not value:
                raise LFDError(f"missing {key}", path, number)
            row[key] = value
        row["label"] = _int(record.get("label"), "label", path, number)
        row["pred"] = _int(record.get("pred"), "pred", path, number)
        row["line"] = number
        if probabilities:
            row["probs"] = tuple(_probability(record.get(f"p_{n}"), f"p_{n}", path, number) for n in names)
        if (record.get("fold") or "").strip():
            row["fold"] = record["fold"].strip()
        rows.append(row)
    if not rows:
        raise LFDError("no prediction rows", path)
    _refuse_repeated(rows, path)
    return PredictionFile(path, "csv", rows, num_classes=len(names) or None, class_names=names or None)


def read_megc2019_log(path: str | Path) -> PredictionFile:
    """Rows of a MEGC2019 submission log (``<db> <subject>`` headers, ``<video> <gt> <pred>`` lines)."""
    path = Path(path)
    rows = []
    dataset = subject = None
    for number, line in enumerate(_read_lines(path), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) == 2 and parts[0].lower() not in MEGC2019_DATABASES and _is_int(parts[1]):
            raise LFDError(
                f"'{line.strip()}' has a video and a ground truth but no prediction; expected "
                "'<video> <ground truth> <prediction>' (or a '<db> <subject>' header: "
                f"{', '.join(MEGC2019_DATABASES)})",
                path,
                number,
            )
        if len(parts) == 2:
            dataset, subject = parts
        elif len(parts) == 3:
            if subject is None:
                raise LFDError("sample line before any '<db> <subject>' header line", path, number)
            rows.append(
                {
                    "dataset": dataset,
                    "subject": subject,
                    "sample": parts[0],
                    "label": _int(parts[1], "ground truth", path, number),
                    "pred": _int(parts[2], "prediction", path, number),
                    "line": number,
                }
            )
        else:
            raise LFDError(
                f"expected '<db> <subject>' or '<video> <ground truth> <prediction>', got {len(parts)} fields",
                path,
                number,
            )
    if not rows:
        raise LFDError("no prediction lines", path)
    _refuse_repeated(rows, path)
    return PredictionFile(path, "megc2019", rows)


def _refuse_repeated(rows: list[dict[str, Any]], path: Path) -> None:
    """A sample listed twice would be counted twice: refused, naming both rows."""
    first: dict[tuple[Any, ...], int] = {}
    for r in rows:
        key = (r["dataset"], r["subject"], r["sample"])
        if key in first:
            raise LFDError(
                f"sample {r['sample']} of subject {r['subject']} is listed twice (rows {first[key]} and "
                f"{r['line']}); each sample must be scored once",
                path,
                r["line"],
            )
        first[key] = r["line"]


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def infer_megc2019_dataset(subject: str) -> str | None:
    """The composite dataset a subject folder name belongs to (``sub01`` casme2, ``s01`` smic,
    ``006`` samm), or None when the name fits none of them."""
    for name, pattern in MEGC2019_SUBJECT_PATTERNS:
        if pattern.match(subject):
            return name
    return None


def _label_list(text: str, what: str, path: Path, row: int) -> list[int]:
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        raise LFDError(f"{what} is not a list of class indices: {text.strip()!r}", path, row) from None
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise LFDError(f"{what} is not a list of class indices: {text.strip()!r}", path, row)
    return value


def read_python_log(path: str | Path) -> PredictionFile:
    """Rows of an STSTNet ``main.py`` print-out (``Subject:``/``Predicted``/``Ground Truth`` lines).

    The log gives no sample names (``sample`` is None) and no dataset names (inferred, see module
    docstring).
    """
    path = Path(path)
    blocks: list[tuple[str, int, list[int] | None, list[int] | None]] = []
    for number, line in enumerate(_read_lines(path), start=1):
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep:
            continue
        if key == "Subject":
            subject = value.strip()
            if not subject:
                raise LFDError("missing subject name", path, number)
            blocks.append((subject, number, None, None))
        elif key in ("Predicted", "Ground Truth"):
            if not blocks:
                raise LFDError(f"'{key}' line before any 'Subject:' line", path, number)
            subject, start, pred, true = blocks[-1]
            labels = _label_list(value, key, path, number)
            if key == "Predicted":
                pred = labels
            else:
                true = labels
            blocks[-1] = (subject, start, pred, true)
    rows = []
    for subject, start, pred, true in blocks:
        if pred is None or true is None:
            raise LFDError(f"subject {subject} lacks a 'Predicted' or 'Ground Truth' line", path, start)
        if len(pred) != len(true):
            raise LFDError(
                f"subject {subject}: {len(pred)} predictions but {len(true)} ground-truth labels", path, start
            )
        rows.extend(
            {"dataset": None, "subject": subject, "sample": None, "label": t, "pred": p, "line": start}
            for t, p in zip(true, pred)
        )
    if not rows:
        raise LFDError("no 'Subject:' blocks with predictions", path)
    notes = []
    inferred = {s: infer_megc2019_dataset(s) for s in dict.fromkeys(r["subject"] for r in rows)}
    unknown = [s for s, d in inferred.items() if d is None]
    if unknown:
        notes.append(
            f"the log names no datasets and subject(s) {', '.join(unknown[:5])} fit no MEGC2019 "
            "subject naming: overall score only"
        )
    else:
        for r in rows:
            r["dataset"] = inferred[r["subject"]]
        notes.append(
            "the log names no datasets: inferred from MEGC2019 subject names "
            "(subNN = casme2, sNN = smic, NNN = samm)"
        )
    return PredictionFile(path, "python-log", rows, notes)


_READERS = {"csv": read_predictions_csv, "megc2019": read_megc2019_log, "python-log": read_python_log}


def read_prediction_file(path: str | Path, format: str | None = None) -> PredictionFile:
    """Read a prediction file of any supported format (auto-detected unless ``format`` is given)."""
    fmt = format or detect_format(path)
    if fmt not in _READERS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return _READERS[fmt](path)


def score_file(
    path: str | Path, num_classes: int | None = None
) -> tuple[dict[str, dict[str, Any]], PredictionFile]:
    """Read and score a prediction file: ``(score_table(...), the PredictionFile)``.

    The classes are ``[0, num_classes)``: as given, else as the file says (a CSV's ``p_<class>``
    columns), else the range of its ground-truth labels, and a prediction outside them is refused
    (a pred 9 among labels 0-2 is a broken file, not a fourth class; pass ``num_classes`` when a
    class has no sample). A sample listed twice is refused naming both rows. Problems raise
    LFDError naming the file and row.
    """
    predictions = read_prediction_file(path)
    if num_classes is not None and num_classes < 1:
        raise LFDError(f"number of classes must be positive, got {num_classes}")
    bound = check_classes(predictions, num_classes, "--num-classes")
    return score_table(predictions.rows, bound), predictions


def check_classes(
    predictions: PredictionFile, num_classes: int | None = None, option: str | None = None
) -> int:
    """The number of classes of ``predictions``, every label and prediction checked to lie in it.

    The classes are ``[0, num_classes)`` when given (by ``option``, named in the message), else
    as the file says (a CSV's ``p_<class>`` columns), else the range of its ground-truth labels:
    a prediction outside them (a pred 7 among labels 0-2, or -1) is a broken row, not another
    class, and raises ``LFDError`` naming the file and row.
    """
    given = num_classes if num_classes is not None else predictions.num_classes
    bound = given if given is not None else max(r["label"] for r in predictions.rows) + 1
    source = (
        str(option)
        if num_classes is not None
        else "its p_<class> columns"
        if given is not None
        else "the ground-truth labels" + (f" (pass {option} if a class has no sample)" if option else "")
    )
    for r in predictions.rows:
        for key in ("label", "pred"):
            if r[key] < 0 or r[key] >= bound:
                raise LFDError(
                    f"{key} {r[key]} of subject {r['subject']} is not a class index in [0, {bound}) "
                    f"(the classes from {source})",
                    predictions.path,
                    r["line"],
                )
    return bound


def read_run_predictions(path: str | Path, probabilities: bool = False) -> PredictionFile:
    """One of a run's prediction files, as ``compare`` and the seed ensemble read it: any format
    (a CSV with its ``p_<class>`` probabilities when asked for), every class index checked
    (``check_classes``), and agreeing with the ``metrics.json`` beside it (``check_against_metrics``)."""
    predictions = (
        read_predictions_csv(path, probabilities=True) if probabilities else read_prediction_file(path)
    )
    check_classes(predictions)
    check_against_metrics(predictions)
    return predictions


# a run folder's scores, beside the predictions file they score (report.summary writes both)
METRICS_FILE = "metrics.json"


def check_against_metrics(predictions: PredictionFile) -> None:
    """A run's predictions file must score what the ``metrics.json`` beside it says it scores
    (when that names this file): a hand-edited or foreign predictions file would otherwise be
    compared or ensembled as the run's. Raises ``LFDError`` naming the file and the difference."""
    why = metrics_disagreement(predictions)
    if why is not None:
        hint = "rerun the run (`train --resume` rebuilds it from the fold folders) or restore the file"
        raise LFDError(f"{why}; {hint}", predictions.path)


def metrics_disagreement(predictions: PredictionFile) -> str | None:
    """Why ``predictions`` disagrees with the ``metrics.json`` beside it; None when it agrees or
    no metrics.json there names it."""
    metrics = read_json(predictions.path.parent / METRICS_FILE)
    if not metrics or metrics.get("predictions") != predictions.path.name:
        return None
    overall = metrics.get("overall")
    names = metrics.get("class_names")
    if not isinstance(overall, dict) or not isinstance(names, list) or not names:
        return None
    try:
        scored = score_table(predictions.rows, len(names))["overall"]
    except (IndexError, ValueError):
        scored = {}
    for key in ("n", "uf1", "uar", "accuracy"):
        want, got = overall.get(key), scored.get(key)
        if isinstance(want, int | float) and not (isinstance(got, int | float) and abs(got - want) < 1e-6):
            return (
                f"its rows score {key} {_number_text(got)} but {METRICS_FILE} beside it says {_number_text(want)}: "
                "edited after the run wrote it, or another run's file"
            )
    return None


def _number_text(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
