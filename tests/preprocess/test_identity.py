"""Identity descriptors (dlib's face-recognition ResNet) on real faces, and their disk cache."""

from __future__ import annotations

import numpy as np
import pytest

from lfd_tcmen.data.composite import read_face
from lfd_tcmen.preprocess import identity
from lfd_tcmen.preprocess.identity import DESCRIPTOR_DIM, cached_identity_descriptors, identity_descriptors


@pytest.fixture(scope="module")
def faces(shared_data):
    """Two CASME II subjects, two frames each (onset and 10 frames on), as 64x64 grey faces."""
    root = shared_data / "casme2_cropped"
    picks = [
        ("sub01", "EP02_01f", 46),
        ("sub01", "EP02_01f", 56),
        ("sub02", "EP01_11f", None),
        ("sub02", "EP01_11f", "+10"),
    ]
    out = []
    for subject, clip, frame in picks:
        files = sorted((root / subject / clip).glob("reg_img*.jpg"), key=lambda p: int(p.stem[7:]))
        if not files:
            pytest.skip(f"{root / subject / clip} absent")
        path = (
            files[0]
            if frame is None
            else files[10]
            if frame == "+10"
            else root / subject / clip / f"reg_img{frame}.jpg"
        )
        out.append(read_face(path, 64))
    return np.stack(out)


def test_a_descriptor_names_the_person(faces):
    d = identity_descriptors(faces)
    assert d.shape == (4, DESCRIPTOR_DIM) and d.dtype == np.float32 and np.isfinite(d).all()
    distance = np.linalg.norm(d[:, None] - d[None], axis=-1)
    same = [distance[0, 1], distance[2, 3]]
    other = [distance[0, 2], distance[0, 3], distance[1, 2], distance[1, 3]]
    assert max(same) < min(other), distance
    # (dlib's 0.6 same-person threshold is for colour 150x150 chips; on 64x64 grey crops every
    # distance is smaller, and only the ranking is used: the teacher reads directions, not a cut)


def test_the_cache_reuses_only_the_same_faces_and_replaces_a_damaged_file(faces, tmp_path, monkeypatch):
    calls = []
    real = identity.identity_descriptors

    def counting(x):
        calls.append(len(x))
        return real(x)

    monkeypatch.setattr(identity, "identity_descriptors", counting)
    first = cached_identity_descriptors(faces[:2], tmp_path)
    again = cached_identity_descriptors(faces[:2], tmp_path)
    assert calls == [2] and np.array_equal(first, again)
    cached_identity_descriptors(faces[1:3], tmp_path)  # other faces: computed, not reused
    assert calls == [2, 2]
    (kept,) = [p for p in tmp_path.glob("*.npy") if np.array_equal(np.load(p), first)]
    kept.write_bytes(b"not an array")
    assert np.array_equal(cached_identity_descriptors(faces[:2], tmp_path), first)
    assert calls == [2, 2, 2] and np.array_equal(np.load(kept), first)
