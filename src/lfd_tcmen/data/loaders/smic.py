"""SMIC (Li et al., FG 2013): HS 164 micro-expressions of 16 subjects at 100 fps; VIS and NIR
71 each at 25 fps.

There is no coding sheet: the label is the folder a clip sits in,
``HS/s1/micro/negative/s1_ne_01/*.bmp`` (labels negative, positive, surprise). Only onset and
offset are known (the clip's first and last frame); there is no apex (preprocessing spots it).

``annotations`` is the subset folder (``HS``, ``VIS``, ``NIR``) or a folder holding ``HS``.
Frames come from the same tree, or from ``root`` when given (e.g. a cropped copy with the same
layout).
"""

from __future__ import annotations

from pathlib import Path

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.loaders.common import clip_frames
from lfd_tcmen.data.record import Sample
from lfd_tcmen.data.registry import register_loader
from lfd_tcmen.data.subjects import SMIC_SUBJECT, smic_subject

LABELS = ("negative", "positive", "surprise")


def subset_dir(path: Path) -> Path:
    """The folder whose children are the subject folders s1, s2, ..."""
    if not path.is_dir():
        raise LFDError("SMIC annotations must be the HS/VIS/NIR folder (labels come from folder names)", path)
    if _subject_dirs(path):
        return path
    for name in ("HS", "hs", "SMIC-HS", "VIS", "NIR"):
        if _subject_dirs(path / name):
            return path / name
    raise LFDError("no SMIC subject folders (s1/micro/<label>/<clip>/) found", path)


def _subject_dirs(path: Path) -> list[Path]:
    if not path.is_dir():
        return []
    found = [
        p for p in path.iterdir() if p.is_dir() and SMIC_SUBJECT.match(p.name) and (p / "micro").is_dir()
    ]
    return sorted(found, key=lambda p: int(SMIC_SUBJECT.match(p.name).group(1)))  # type: ignore[union-attr]


@register_loader("smic")
def load_smic(annotations: Path, root: Path | None) -> list[Sample]:
    """SMIC micro-expression clips, labelled by their folder; sorted by subject, label, clip."""
    tree = subset_dir(annotations)
    frames_tree = tree if root is None else subset_dir(root)
    samples = []
    for subject_dir in _subject_dirs(tree):
        micro = subject_dir / "micro"
        for label_dir in sorted(p for p in micro.iterdir() if p.is_dir()):
            label = label_dir.name.strip().lower()
            if label not in LABELS:
                raise LFDError(
                    f"unknown SMIC label folder {label_dir.name!r} (expected {', '.join(LABELS)})", label_dir
                )
            for clip_dir in sorted(p for p in label_dir.iterdir() if p.is_dir()):
                source = str(clip_dir)
                folder = frames_tree / subject_dir.name / "micro" / label_dir.name / clip_dir.name
                frames, numbers = clip_frames(folder, None, None, source)
                samples.append(
                    Sample(
                        dataset="smic",
                        subject=smic_subject(subject_dir.name),
                        clip=clip_dir.name,
                        emotion=label,
                        onset=numbers[0],
                        apex=None,
                        offset=numbers[-1],
                        frames=frames,
                        frame_numbers=numbers,
                        source=source,
                        apex_source="missing",
                    )
                )
    if not samples:
        raise LFDError("no SMIC clips found under s*/micro/<label>/", tree)
    return samples
