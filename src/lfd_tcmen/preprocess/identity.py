"""Identity descriptors: dlib's face-recognition ResNet on the reference face of every sample.

    descriptors = identity_descriptors(faces)            # (N, S, S) grey [0, 1] -> (N, 128)
    descriptors = cached_identity_descriptors(faces)     # the same, kept on disk by content

The descriptor is the 128-d embedding of dlib's ``dlib_face_recognition_resnet_model_v1`` (shipped
in ``face_recognition_models``, loaded by path; nothing is downloaded), computed on the face
upsampled to 150x150 with dlib's own 68-point alignment inside the crop. It names a person,
including one never seen in training, which is what LFD-TCMEN's identity teacher needs
(docs/design.md, "Identity teacher"). On the composite's 442 apex faces at 64x64 grey, the
nearest other descriptor belongs to the same subject for every sample with a second one.

The cache holds one ``.npy`` per face array, named by the SHA-256 of the faces' bytes: a file is
only ever reused for the very faces it was computed from, and one that does not read back as a
finite (N, 128) float32 array is computed again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
from pathlib import Path

import cv2
import numpy as np

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.files import atomic_write_bytes
from lfd_tcmen.data.features import DESCRIPTOR_DIM
from lfd_tcmen.preprocess.face import shape_predictor_path

CHIP_SIZE = 150  # the input size dlib's face-recognition network was trained at
RECOGNITION_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
_MODELS: dict[str, object] = {}  # lazily loaded, per process


def recognition_model_path() -> Path:
    """Path of dlib's face-recognition ResNet inside the installed ``face_recognition_models``."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise LFDError(
            "package face_recognition_models is not installed (pip install face_recognition_models)"
        )
    path = Path(spec.origin).parent / "models" / RECOGNITION_MODEL
    if not path.is_file():
        raise LFDError("face-recognition model missing from face_recognition_models", path=path)
    return path


def _models() -> tuple[object, object]:
    if not _MODELS:
        import dlib  # deferred: heavy, and only the identity teacher needs it

        _MODELS["shape68"] = dlib.shape_predictor(str(shape_predictor_path()))
        _MODELS["resnet"] = dlib.face_recognition_model_v1(str(recognition_model_path()))
    return _MODELS["shape68"], _MODELS["resnet"]


def identity_descriptors(faces: np.ndarray) -> np.ndarray:
    """faces (N, S, S) float in [0, 1], grey face crops -> (N, 128) float32 descriptors."""
    import dlib  # deferred: heavy, and only the identity teacher needs it

    if faces.ndim != 3:
        raise ValueError(f"faces must be (N, S, S), got {faces.shape}")
    shape68, resnet = _models()
    out = np.empty((len(faces), DESCRIPTOR_DIM), dtype=np.float32)
    whole = dlib.rectangle(0, 0, CHIP_SIZE - 1, CHIP_SIZE - 1)
    for i, face in enumerate(faces):
        grey = (np.clip(face, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        grey = cv2.resize(grey, (CHIP_SIZE, CHIP_SIZE), interpolation=cv2.INTER_CUBIC)
        rgb = np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
        landmarks = shape68(rgb, whole)  # type: ignore[operator]
        out[i] = np.asarray(resnet.compute_face_descriptor(rgb, landmarks, 0), dtype=np.float32)  # type: ignore[attr-defined]
    return out


def cache_folder() -> Path:
    """``$LFD_TCMEN_CACHE/identity``, else ``~/.cache/lfd-tcmen/identity``."""
    base = os.environ.get("LFD_TCMEN_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "lfd-tcmen") / "identity"


def cached_identity_descriptors(faces: np.ndarray, folder: Path | None = None) -> np.ndarray:
    """``identity_descriptors(faces)``, read from / written to ``folder`` (``cache_folder()``)
    under the SHA-256 of the faces' bytes; a damaged file is recomputed and replaced."""
    faces = np.ascontiguousarray(faces, dtype=np.float32)
    key = hashlib.sha256(repr(faces.shape).encode() + faces.tobytes()).hexdigest()[:32]
    path = (folder or cache_folder()) / f"{key}.npy"
    if path.is_file():
        try:
            kept = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            kept = None
        if (
            kept is not None
            and kept.shape == (len(faces), DESCRIPTOR_DIM)
            and kept.dtype == np.float32
            and np.isfinite(kept).all()
        ):
            return kept
    descriptors = identity_descriptors(faces)
    buffer = io.BytesIO()
    np.save(buffer, descriptors, allow_pickle=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
    except OSError:
        pass  # a read-only home: computed again next time, nothing lost
    return descriptors
