"""The embedded synthetic micro-expression set: drawn faces, in any dataset's layout.

Real micro-expression datasets are licensed, so the demo and the tests run on this one. It is
built to pose the real problem, not an easy one:

- emotions are subtle (about 1-2 px at 128 x 128) local deformations where the real action
  units move (happiness AU6+AU12, disgust AU4+AU9/AU10, surprise AU1+AU2+AU5, repression
  AU14/AU15/AU17), with a smooth onset -> apex -> offset time course;
- subjects differ far more than expressions do (face shape, skin, hair, lighting), so a
  single frame says who, not what;
- identity confounds: each subject has its own skewed emotion distribution and its own
  habitual movements (blinks, a lip-corner twitch, ...) in every clip whatever the emotion,
  its own head jitter, illumination flicker, sensor noise and JPEG quality.

Every recording (a clip's folder, or a CAS(ME)^3 task video holding several clips) is drawn from
its own generator seeded by (seed, subject, recording), so one seed gives byte-identical frames
and sheets, and changing one recording changes no other.

The same clips are written in any registered layout (``layout_names()``): CASME II's (the
default, and the demo's), SAMM's, SMIC's, CAS(ME)^3 Part A's and Part C's, DFME's and MMEW's,
each with the dataset's folders, file names, frame numbering and annotation files, so that the
dataset's own loader reads them (``synth.layout``; one ``synth.<dataset>`` module each).
The renderer is ``synth.clips``; the faces and their actions are ``synth.face``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.progress import progress_bar

# the layouts register themselves on import
from lfd_tcmen.synth import casme2, casme3, dfme, mmew, samm, smic  # noqa: F401
from lfd_tcmen.synth.casme2 import FRAMES_DIR, HEADER, SHEET_NAME
from lfd_tcmen.synth.clips import EMOTIONS, Motion, draw_motion, draw_subject, write_frames
from lfd_tcmen.synth.layout import LAYOUTS, Layout, Placement, RenderedClip, objective_class

__all__ = [
    "EMOTIONS",
    "FRAMES_DIR",
    "HEADER",
    "SHEET_NAME",
    "RenderedSet",
    "layout_description",
    "layout_names",
    "objective_class",
    "render_dataset",
    "render_layout",
]


@dataclass(frozen=True)
class RenderedSet:
    """A rendered set and how to load it: ``load_samples(dataset, a, root)`` for each ``a`` in
    ``annotations`` gives one sample per entry of ``clips`` (DFME: one coding sheet per part)."""

    layout: str
    dataset: str  # the loader's name
    annotations: tuple[Path, ...]
    root: Path
    apex_annotated: bool  # False where the dataset gives no apex (the loader then reports None)
    clips: tuple[RenderedClip, ...]


def layout_names() -> list[str]:
    return LAYOUTS.names()


def layout_description(layout: str) -> str:
    return LAYOUTS.get(layout).description


def render_layout(
    layout: str,
    out: Path,
    subjects: int = 8,
    seed: int = 0,
    clips_per_subject: int = 12,
    size: int = 128,
    frames_per_clip: int = 24,
    progress: bool = True,
) -> RenderedSet:
    """Render the synthetic set under ``out`` in ``layout``'s folders and annotation format.

    Every layout renders the same subjects and clips from one seed: the same faces, emotions,
    action units and motion (CAS(ME)^3 differs only in grouping several clips into one task
    video, with still frames between them). Each clip folder (or task video folder) also holds
    ``landmarks.npy``, (T, 68, 2) float32, the exact iBUG-68 landmarks (x, y px) of each of its
    frames in frame-number order. An ``out`` that already holds a dataset in the layout's
    frames folder is refused (``LFDError``): rendering over it would replace the annotations and
    leave old clips the new ones do not list.

    Eight parameters: the layout and folder, then the sizes ``lfd-tcmen data synth`` takes as flags,
    each with its default.
    """
    _check_arguments(subjects, clips_per_subject, size, frames_per_clip)
    spec = LAYOUTS.get(layout)()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)  # an --out that cannot be a folder is named, not a clip under it
    frames = spec.root(out)
    if frames.is_dir() and any(frames.iterdir()):
        # a new sheet over old clip folders would leave clips it does not list
        raise LFDError(
            f"already holds a dataset ({frames}); render into an empty folder, or delete it first", out
        )
    clips: list[RenderedClip] = []
    emotion_order = np.random.default_rng([seed]).permutation(len(EMOTIONS))
    with progress_bar(
        total=subjects * clips_per_subject, desc="synthetic clips", unit="clip", disable=not progress
    ) as bar:
        for s in range(subjects):
            rng = np.random.default_rng([seed, s])
            subject = draw_subject(rng, np.roll(emotion_order, s), size, clips_per_subject)
            for r, recording in enumerate(spec.recordings(rng, clips_per_subject)):
                recording_rng = np.random.default_rng([seed, s, r])
                emotions = [subject.emotions[c] for c in recording[1]]
                motion = draw_motion(recording_rng, subject, emotions, frames_per_clip, spec.spaced)
                placement = spec.place(recording_rng, out, s, recording, motion)
                write_frames(recording_rng, subject, motion, placement.frame_paths(motion.n_frames))
                clips += _report(spec, s, placement, motion)
                bar.update(len(recording[1]))
    annotations = spec.write_annotations(out, clips)
    return RenderedSet(layout, spec.dataset, annotations, spec.root(out), spec.annotates_apex, tuple(clips))


def render_dataset(
    out: Path,
    subjects: int = 8,
    seed: int = 0,
    clips_per_subject: int = 12,
    size: int = 128,
    frames_per_clip: int = 24,
    progress: bool = True,
) -> Path:
    """Render the synthetic set under ``out`` in CASME II's layout; returns the coding sheet path.

    ``out/CASME2_RAW_selected/subNN/<clip>/img<n>.jpg`` holds the frames onset..offset and
    ``landmarks.npy`` (T, 68, 2) float32, the exact iBUG-68 landmarks (x, y px) of each frame
    in frame-number order; ``out/CASME2-coding-synthetic.xlsx`` is the coding sheet. The
    CASME II loader reads it as ``load_samples("casme2", sheet, out / "CASME2_RAW_selected")``.
    An ``out`` that already holds a dataset is refused (``render_layout``).

    Seven parameters: the folder, then the sizes ``lfd-tcmen data synth`` takes as flags, each with
    its default.
    """
    rendered = render_layout(
        "casme2", out, subjects, seed, clips_per_subject, size, frames_per_clip, progress
    )
    return rendered.annotations[0]


def _check_arguments(subjects: int, clips_per_subject: int, size: int, frames_per_clip: int) -> None:
    if not 1 <= subjects <= 99:
        raise LFDError(f"subjects must be between 1 and 99, got {subjects}")
    if clips_per_subject < 1:
        raise LFDError(f"clips_per_subject must be at least 1, got {clips_per_subject}")
    if size < 64:
        raise LFDError(f"size must be at least 64 px, got {size}")
    if frames_per_clip < 6:
        raise LFDError(f"frames_per_clip must be at least 6, got {frames_per_clip}")


def _report(spec: Layout, subject: int, placement: Placement, motion: Motion) -> Sequence[RenderedClip]:
    """The recording's micro-expressions as the renderer reports them (dataset frame numbers)."""
    return [
        RenderedClip(
            subject_index=subject,
            subject=placement.subject,
            clip=clip,
            filename=filename,
            emotion=spec.words[e.emotion],
            rendered_emotion=e.emotion,
            action_units=e.action_units,
            onset=placement.first + e.onset,
            apex=placement.first + e.apex,
            offset=placement.first + e.offset,
            folder=placement.folder,
        )
        for e, (clip, filename) in zip(motion.expressions, placement.clips)
    ]
