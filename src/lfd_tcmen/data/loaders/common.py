"""What every loader shares: frame folders, and sanity checks on onset/apex/offset.

Frame files are matched by the number at the end of their name (``img46.jpg`` -> 46,
``006_05562.jpg`` -> 5562, ``355.jpg`` -> 355) and sorted numerically, never by string.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.corrections import correct_table
from lfd_tcmen.data.record import Sample
from lfd_tcmen.data.tabular import Table, cell_text, parse_emotion, parse_frame, parse_text, read_table

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_TRAILING_NUMBER = re.compile(r"(\d+)$")

# When set (by ``deferred_frame_errors``), a missing clip folder or frame does not stop loading:
# the sample keeps the expected path of each missing frame, so preprocessing skips that one
# sample and reports the missing file, and every other sample is still prepared.
_DEFER_MISSING: ContextVar[bool] = ContextVar("lfd_tcmen_defer_missing_frames", default=False)


@contextmanager
def deferred_frame_errors():  # type: ignore[no-untyped-def]
    """Within this block, loaders keep samples whose frames are missing (see ``clip_frames``)."""
    token = _DEFER_MISSING.set(True)
    try:
        yield
    finally:
        _DEFER_MISSING.reset(token)


def _expected_frame(folder: Path, number: int, like: Path | None) -> Path:
    """The path frame ``number`` would have, named like the existing frame ``like``."""
    if like is None:
        return folder / f"{number}.jpg"
    stem = like.stem
    m = _TRAILING_NUMBER.search(stem)
    digits = m.group(1) if m else ""
    width = len(digits) if digits.startswith("0") else 0
    return folder / f"{stem[: len(stem) - len(digits)]}{number:0{width}d}{like.suffix}"


def numbered_images(folder: Path) -> list[tuple[int, Path]]:
    """Image files of ``folder`` as (frame number, path), in frame-number order.

    Files without a trailing number in their stem (``landmarks.npy``, ``Thumbs.db``) are ignored,
    and so are images not named like the folder's frames (the text before the number that most
    of them share: "img" of ``img46.jpg``): a stray ``Copy of img173.jpg`` is not frame 173. A
    warning names the folder and the files left out.
    """
    found: dict[str, list[tuple[int, Path]]] = {}  # name before the number -> its frames
    with os.scandir(folder) as it:
        for entry in it:
            stem, suffix = os.path.splitext(entry.name)
            if suffix.lower() not in IMAGE_SUFFIXES or not entry.is_file():
                continue
            m = _TRAILING_NUMBER.search(stem)
            if m:
                found.setdefault(stem[: m.start()], []).append((int(m.group(1)), Path(entry.path)))
    if not found:
        return []
    frames = max(sorted(found), key=lambda prefix: len(found[prefix]))
    strays = sorted(p.name for prefix, images in found.items() if prefix != frames for _, p in images)
    if strays:
        listed = ", ".join(strays[:3]) + (f" and {len(strays) - 3} more" if len(strays) > 3 else "")
        warnings.warn(
            f"{folder}: {len(strays)} image(s) not named like its frames ({frames}<n>) left out: {listed}",
            stacklevel=2,
        )
    return sorted(found[frames], key=lambda t: (t[0], t[1].name))


def clip_frames(
    folder: Path,
    onset: int | None,
    offset: int | None,
    source: str,
    listing_cache: dict[Path, list[tuple[int, Path]]] | None = None,
) -> tuple[tuple[Path, ...], tuple[int, ...]]:
    """Frames ``onset..offset`` (inclusive) of a clip folder, or all of them when onset is None.

    source: the sample's ``file, row N``, named in errors. listing_cache: folder listings kept
    across calls (CAS(ME)^3 cuts several MEs from one long task-video folder). Raises
    ``LFDError`` when the folder is missing or empty, or when any frame number of the interval
    has no file.
    """
    defer = _DEFER_MISSING.get() and onset is not None and offset is not None
    if listing_cache is not None and folder in listing_cache:
        images = listing_cache[folder]
    elif not folder.is_dir():
        if defer:
            numbers = tuple(range(onset, offset + 1))  # type: ignore[arg-type]
            return tuple(_expected_frame(folder, n, None) for n in numbers), numbers
        raise LFDError(f"clip folder not found: {folder}", source)
    else:
        images = numbered_images(folder)
        if listing_cache is not None:
            listing_cache[folder] = images
    if not images:
        raise LFDError(f"no frame images ({'/'.join(IMAGE_SUFFIXES)}) in {folder}", source)
    if onset is None or offset is None:
        return tuple(p for _, p in images), tuple(n for n, _ in images)
    by_number: dict[int, Path] = {}
    for number, path in images:
        by_number.setdefault(number, path)
    missing = [n for n in range(onset, offset + 1) if n not in by_number]
    if missing and defer:
        like = images[0][1]
        numbers = tuple(range(onset, offset + 1))
        return tuple(by_number.get(n) or _expected_frame(folder, n, like) for n in numbers), numbers
    if missing:
        raise LFDError(
            f"frame {missing[0]} of onset..offset {onset}..{offset} not found in {folder} "
            f"({len(missing)} of {offset - onset + 1} frames missing; folder has "
            f"{images[0][0]}..{images[-1][0]})",
            source,
        )
    numbers = tuple(range(onset, offset + 1))
    return tuple(by_number[n] for n in numbers), numbers


def frames_inside(samples: list[Sample], root: Path) -> list[Sample]:
    """The samples whose every frame lies under ``root``; each other one is skipped with a
    warning naming its file and row.

    A coding sheet names the folders frames are read from, and a sheet a user was sent may write
    ``../../outside/EP17_01`` or an absolute path: nothing outside the frames root the user gave
    is read. Paths are compared as written with ".." resolved; symbolic links are not followed,
    so a root laid out with links to another disk still works.
    """
    base = os.path.abspath(root)
    kept = []
    for sample in samples:
        outside = next((f for f in sample.frames if not _under(f, base)), None)
        if outside is None:
            kept.append(sample)
        else:
            where = sample.source or sample.sample_id
            warnings.warn(
                f"{where}: frame {outside} lies outside the frames root {root}; sample skipped", stacklevel=2
            )
    return kept


def _under(path: Path, base: str) -> bool:
    return os.path.commonpath([base, os.path.normpath(os.path.abspath(path))]) == base


def find_dir(parent: Path, name: str) -> Path:
    """``parent/name``, or the one entry of ``parent`` equal to ``name`` ignoring case.

    CAS(ME)^3 writes task "J" in one row and folders may be lower case; returns ``parent/name``
    (which may not exist) when there is no unambiguous match, so the caller's error names it.
    """
    exact = parent / name
    if exact.is_dir() or not parent.is_dir():
        return exact
    matches = [p for p in parent.iterdir() if p.is_dir() and p.name.lower() == name.lower()]
    return matches[0] if len(matches) == 1 else exact


def check_interval(onset: int, apex: int | None, offset: int, source: str) -> tuple[int | None, str] | None:
    """Sanity-check one annotation's interval.

    The generic rule for rows the corrections table (``lfd_tcmen.data.corrections``) does not
    cover, or every row when corrections are off. Returns (apex, apex_source): apex_source is
    "annotation", or "missing" when no apex is given or it lies outside onset..offset (then
    preprocessing spots it), with a warning. Returns None when the interval itself is unusable
    (offset before onset): the caller skips the sample, with a warning naming file and row.
    """
    if offset < onset:
        warnings.warn(f"{source}: offset {offset} is before onset {onset}; sample skipped", stacklevel=3)
        return None
    if apex is None:
        return None, "missing"
    if not onset <= apex <= offset:
        warnings.warn(
            f"{source}: apex {apex} outside onset..offset {onset}..{offset}; apex treated as missing",
            stacklevel=3,
        )
        return None, "missing"
    return apex, "annotation"


# Column names each key may go by in the real coding sheets (matched ignoring case, spaces, "_").
SUBJECT = ("Subject", "sub", "Subject ID", "subject_id")
FILENAME = ("Filename", "File name", "fold_name", "Clip", "Video")
ONSET = ("OnsetFrame", "Onset Frame", "Onset", "OnsetF")
APEX = ("ApexFrame", "Apex Frame", "Apex", "ApexF1", "ApexF")
OFFSET = ("OffsetFrame", "Offset Frame", "Offset", "OffsetF")
ACTION_UNITS = ("Action Units", "AU", "AUs", "ActionUnits")
EMOTION = ("Estimated Emotion", "emotion", "Emotion", "Emotion category", "Emotion Category", "label")

ClipFolder = Callable[[Path, str, str, str], Path]  # (root, subject, filename, emotion) -> clip folder


def samples_from_table(
    table: Table,
    dataset: str,
    root: Path | None,
    clip_folder: ClipFolder,
    subject_id: Callable[[str], str] = lambda s: s,
    clip_id: Callable[[str, int], str] = lambda filename, onset: filename,
    keep_row: Callable[[tuple[object, ...]], bool] | None = None,
) -> list[Sample]:
    """Samples of a CASME II-style coding sheet (one row per clip), in file order.

    ``table`` must have the keys subject, clip, onset, offset, emotion and optionally apex, aus.
    subject_id / clip_id turn the cells into the dataset's ids (CASME II "01" -> "sub01";
    CAS(ME)^3 clips are "<task>_<onset>" because one task video holds several MEs). When ``root``
    is given, frames onset..offset are read from ``clip_folder(root, subject, filename, emotion)``.
    Known errors of the file are corrected first (``correct_table``; see ``data/corrections.csv``).

    Seven parameters: the sheet, the dataset and its frames folder, and the four per-dataset rules
    (clip folder, subject and clip ids, rows kept) each loader passes.
    """
    if root is not None and not root.is_dir():
        raise LFDError("frames folder not found", root)
    table = correct_table(table, dataset)
    samples: list[Sample] = []
    seen: dict[str, str] = {}
    listings: dict[Path, list[tuple[int, Path]]] = {}
    for row, cells in table.rows:
        if keep_row is not None and not keep_row(cells):
            continue
        source = table.source(row)
        subject = subject_id(parse_text(table.get(cells, "subject"), "subject", table.path, row))
        filename = parse_text(table.get(cells, "clip"), "filename", table.path, row)
        onset = parse_frame(table.get(cells, "onset"), "onset", table.path, row)
        offset = parse_frame(table.get(cells, "offset"), "offset", table.path, row)
        apex = parse_frame(table.get(cells, "apex"), "apex", table.path, row, optional=True)
        emotion = parse_emotion(table.get(cells, "emotion"), table.path, row)
        assert onset is not None and offset is not None  # parse_frame raises when not optional
        checked = check_interval(onset, apex, offset, source)
        if checked is None:
            continue
        apex, apex_source = checked
        clip = clip_id(filename, onset)
        frames: tuple[Path, ...] = ()
        numbers: tuple[int, ...] = ()
        if root is not None:
            folder = clip_folder(root, subject, filename, emotion)
            frames, numbers = clip_frames(folder, onset, offset, source, listings)
        sample = Sample(
            dataset=dataset,
            subject=subject,
            clip=clip,
            emotion=emotion,
            onset=onset,
            apex=apex,
            offset=offset,
            action_units=cell_text(table.get(cells, "aus")),
            frames=frames,
            frame_numbers=numbers,
            source=source,
            apex_source=apex_source,
        )
        if sample.sample_id in seen:
            raise LFDError(f"sample {sample.sample_id} already given in {seen[sample.sample_id]}", source)
        seen[sample.sample_id] = source
        samples.append(sample)
    return samples


def first_existing(candidates: list[Path]) -> Path:
    """The first candidate folder that exists, else the first one (so errors name the usual place)."""
    for path in candidates:
        if path.is_dir():
            return path
    return candidates[0]


def read_coding_sheet(annotations: Path, **extra_optional: tuple[str, ...]) -> Table:
    """A CASME II-style coding sheet: subject, filename, onset/apex/offset, AUs, emotion.

    The column set CASME II, SAMM, DFME, MMEW and CAS(ME)^3 Part A share; ``extra_optional``
    adds dataset-specific optional columns (e.g. CAS(ME)^3's expression type).
    """
    return read_table(
        annotations,
        required={"subject": SUBJECT, "clip": FILENAME, "onset": ONSET, "offset": OFFSET, "emotion": EMOTION},
        optional={"apex": APEX, "aus": ACTION_UNITS, **extra_optional},
    )
