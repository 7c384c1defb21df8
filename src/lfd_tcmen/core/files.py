"""Result files: atomic writes with normal permissions, and plain (JSON/YAML-safe) values.

Every result file is written under a temporary name in its folder and renamed when complete,
so a run killed at any moment leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """``value`` with plain Python types only (JSON, YAML and ``torch.load(weights_only=True)``-safe).

    Mappings become dicts with string keys, tuples and lists become lists, numpy scalars and
    arrays become Python numbers and lists; anything else (a path, a YAML date) becomes its string.
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    return str(value)


def publish(tmp: str | Path, path: Path, *, directory: bool = False) -> None:
    """Move finished temporary file (or folder) ``tmp`` onto ``path`` atomically, with the
    permissions a normally created one would have (``mkstemp``/``mkdtemp`` make them private)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, (0o777 if directory else 0o666) & ~umask)
    os.replace(tmp, path)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` under a temporary name in its folder, then rename: a full disk
    or a kill leaves the old file (or none), never a truncated one. An ``OSError`` (no space, a
    read-only folder) names ``path``, not the temporary, so the CLI prints it as one line."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        publish(tmp, path)
    except OSError as err:
        raise OSError(err.errno, err.strerror or str(err), str(path)) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path`` (None: absent, unreadable, or not an object)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def json_text(data: Any) -> str:
    return json.dumps(plain(data), indent=2) + "\n"


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    atomic_write_text(path, json_text(data))


def csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """CSV with the first row's keys as header ('' for no rows)."""
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    atomic_write_text(path, csv_text(rows))
