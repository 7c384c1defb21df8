"""SMIC's layout: ``SMIC/HS/s1/micro/negative/s1_ne_01/image067004.bmp``; no annotation file.

The label is the folder a clip sits in (negative, positive, surprise); the clip folder holds
exactly the frames onset..offset as .bmp, numbered as in the recording it was cut from, so the
first and last frame are the onset and offset. SMIC annotates no apex (the renderer still
reports the true one).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lfd_tcmen.synth.clips import Motion
from lfd_tcmen.synth.layout import Layout, Placement, RenderedClip, register_layout

SUBSET_DIR = Path("SMIC") / "HS"
# SMIC's clip names abbreviate the label: s1_ne_01, s1_po_01, s1_sur_01
ABBREVIATIONS = {"negative": "ne", "positive": "po", "surprise": "sur"}


@register_layout("smic")
class Smic(Layout):
    dataset = "smic"
    words = {"happiness": "positive", "disgust": "negative", "repression": "negative", "surprise": "surprise"}
    annotates_apex = False
    description = "SMIC-HS: SMIC/HS/s1/micro/negative/s1_ne_01/image067004.bmp, labels in the path, no apex"

    def root(self, out: Path) -> Path:
        return out / SUBSET_DIR

    def place(
        self,
        rng: np.random.Generator,
        out: Path,
        subject: int,
        recording: tuple[str, tuple[int, ...]],
        motion: Motion,
    ) -> Placement:
        (c,) = recording[1]
        (expression,) = motion.expressions
        label = self.words[expression.emotion]
        name = f"s{subject + 1}"
        clip = f"{name}_{ABBREVIATIONS[label]}_{c + 1:02d}"
        folder = self.root(out) / name / "micro" / label / clip
        return Placement(name, folder, "image{:06d}.bmp", int(rng.integers(1000, 99000)), ((clip, clip),))

    def write_annotations(self, out: Path, clips: Sequence[RenderedClip]) -> tuple[Path, ...]:
        return (self.root(out),)  # the folder tree is the annotation
