"""CASME II (Yan et al., PLoS ONE 2014): 255 micro-expressions of 26 subjects at 200 fps.

Annotations, either of:
- the authors' coding sheet ``CASME2-coding-20190701.xlsx`` (sheet "Sheet1"; header
  Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame, Action Units, Estimated Emotion,
  Objective Classes; Subject is "01".."26"; one apex is "/");
- the ``bob.db.casme2`` SQLite database (``bob_db_casme2_2.0.1.sql3``: 257 clips with their
  frame lists; apex -1 where unknown).

Frames: ``root/sub01/EP02_01f/img46.jpg`` (CASME2_RAW_selected; the cropped release names
them ``reg_img46.jpg``), one image per frame number from onset to offset.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.loaders.common import (
    check_interval,
    clip_frames,
    read_coding_sheet,
    samples_from_table,
)
from lfd_tcmen.data.record import Sample
from lfd_tcmen.data.registry import register_loader
from lfd_tcmen.data.subjects import casme2_subject

SQLITE_SUFFIXES = (".sql3", ".sqlite", ".sqlite3", ".db")


def clip_folder(root: Path, subject: str, filename: str, emotion: str) -> Path:
    return root / subject / filename


@register_loader("casme2")
def load_casme2(annotations: Path, root: Path | None) -> list[Sample]:
    """CASME II samples from the coding sheet (.xlsx/.xls/.csv) or the bob.db.casme2 SQLite file."""
    if annotations.suffix.lower() in SQLITE_SUFFIXES:
        return _load_bob_sqlite(annotations, root)
    table = read_coding_sheet(annotations)
    return samples_from_table(table, "casme2", root, clip_folder, subject_id=casme2_subject)


def _load_bob_sqlite(path: Path, root: Path | None) -> list[Sample]:
    """The bob.db.casme2 database: table ``file`` (path, client_id, emotion, onset, apex, offset),
    ``frame`` (file_id, frame_no, filename) and ``actionunits`` (file_id, actionunit)."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            files = con.execute(
                'SELECT id, path, client_id, emotion, onset, apex, "offset" FROM file ORDER BY id'
            ).fetchall()
            frames: dict[int, list[tuple[int, str]]] = {}
            for file_id, frame_no, filename in con.execute(
                "SELECT file_id, frame_no, filename FROM frame ORDER BY file_id, frame_no"
            ):
                frames.setdefault(file_id, []).append((frame_no, filename))
            aus: dict[int, list[str]] = {}
            for file_id, au in con.execute("SELECT file_id, actionunit FROM actionunits ORDER BY id"):
                aus.setdefault(file_id, []).append(str(au))
        finally:
            con.close()
    except sqlite3.Error as err:
        raise LFDError(f"not a bob.db.casme2 database: {err}", path) from err
    if not files:
        raise LFDError("no clips in table 'file'", path)
    samples = []
    for file_id, clip_path, client_id, emotion, onset, apex, offset in files:
        source = f"{path}, row {file_id}"
        subject = f"sub{int(client_id):02d}"
        clip = Path(str(clip_path)).name
        if not emotion or onset is None or offset is None:
            raise LFDError("clip without emotion, onset or offset", source)
        checked = check_interval(
            int(onset), None if apex is None or int(apex) < 0 else int(apex), int(offset), source
        )
        if checked is None:
            continue
        apex_value, apex_source = checked
        paths: tuple[Path, ...] = ()
        numbers: tuple[int, ...] = ()
        if root is not None:
            listed = frames.get(file_id, [])
            folder = root / subject / clip
            if listed:  # the database lists the frames it kept: check each is there
                if not folder.is_dir():
                    raise LFDError(f"clip folder not found: {folder}", source)
                for _, name in listed:
                    if not (folder / name).is_file():
                        raise LFDError(f"frame not found: {folder / name}", source)
                paths = tuple(folder / name for _, name in listed)
                numbers = tuple(int(n) for n, _ in listed)
            else:
                paths, numbers = clip_frames(folder, int(onset), int(offset), source)
        samples.append(
            Sample(
                dataset="casme2",
                subject=subject,
                clip=clip,
                emotion=str(emotion).strip().lower(),
                onset=int(onset),
                apex=apex_value,
                offset=int(offset),
                action_units="+".join(aus.get(file_id, [])),
                frames=paths,
                frame_numbers=numbers,
                source=source,
                apex_source=apex_source,
            )
        )
    return samples
