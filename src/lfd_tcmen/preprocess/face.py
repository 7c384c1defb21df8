"""Face detection, 68-point landmarks and clip alignment, offline.

Detection is dlib's HOG frontal detector with OpenCV's Haar cascade as the fallback; landmarks
are dlib's iBUG-68 shape predictor from the ``face_recognition_models`` package (loaded by path:
importing that package needs ``pkg_resources``). Models load lazily, once per process.

Alignment estimates ONE similarity transform on the onset frame, from rigid landmarks (eye
corners and nose) to a canonical template, and applies it to every frame of the clip: aligning
each frame separately would remove (or invent) the very motion a micro-expression is. Render
"framed" does the same with one affine from all 68 onset landmarks onto ``FRAMING_TEMPLATE``,
where faces lie in the MEGC2019 composite's images.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lfd_tcmen.core.errors import LFDError

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, x1/y1 exclusive

# Rigid iBUG-68 points (they do not move with expressions or blinks): outer and inner eye
# corners, top of the nose bridge, nose tip, subnasale.
STABLE_LANDMARKS = (36, 39, 42, 45, 27, 30, 33)
# Their canonical places, in units of the outer-eye-corner distance ``d`` about the midpoint of
# the outer eye corners (x right, y down), from typical adult facial proportions.
_TEMPLATE_IN_D = np.array(
    [(-0.5, 0.0), (-0.215, 0.02), (0.215, 0.02), (0.5, 0.0), (0.0, -0.02), (0.0, 0.42), (0.0, 0.57)],
    dtype=np.float64,
)
# Where the template sits in the S x S crop: eyes at 37% height, d = 40% of S. This leaves the
# brows at ~26% and the chin at ~92% of S, the whole face with a thin margin.
_EYE_Y, _EYE_SPAN = 0.37, 0.40
# render "framed": where the 68 iBUG landmarks lie in the MEGC2019 composite's framing of CASME
# II, its Cropped release's frames squeezed to a square (x / width, y / height; times S for an
# S x S face). The mean of dlib's landmarks on the onset frame of every clip of the official sheet
# in the Cropped release (252 clips, all 26 subjects; a point's sd across clips: median .017 of
# the side, largest .031), each divided by its frame's width and height. Derived once by
# benchmarks/framing_template.py (results/framing_template.txt). The tight crop puts the jaw's
# ends just outside the frame (x -.03 and 1.02): alignment then replicates the border, as the
# squeeze never does.
# fmt: off
FRAMING_TEMPLATE = np.array(
    [
        (-0.0302, 0.2966), (-0.0256, 0.4164), (-0.0137, 0.5344), (-0.0037, 0.6528),
        (0.0297, 0.7655), (0.1081, 0.8586), (0.2210, 0.9281), (0.3518, 0.9773),
        (0.5017, 0.9882), (0.6504, 0.9742), (0.7787, 0.9210), (0.8873, 0.8492),
        (0.9623, 0.7554), (0.9966, 0.6425), (1.0072, 0.5263), (1.0180, 0.4100),
        (1.0214, 0.2917), (0.0131, 0.1755), (0.0864, 0.1153), (0.1940, 0.1054),
        (0.3016, 0.1224), (0.4036, 0.1570), (0.5804, 0.1573), (0.6826, 0.1232),
        (0.7904, 0.1070), (0.8975, 0.1179), (0.9715, 0.1764), (0.4937, 0.2656),
        (0.4950, 0.3484), (0.4966, 0.4287), (0.4982, 0.5128), (0.3718, 0.5737),
        (0.4342, 0.5848), (0.4985, 0.5959), (0.5620, 0.5845), (0.6220, 0.5732),
        (0.1173, 0.2789), (0.1843, 0.2613), (0.2560, 0.2623), (0.3289, 0.2925),
        (0.2547, 0.3007), (0.1802, 0.3006), (0.6535, 0.2929), (0.7255, 0.2622),
        (0.7970, 0.2617), (0.8645, 0.2789), (0.8018, 0.2997), (0.7277, 0.3002),
        (0.2743, 0.7249), (0.3600, 0.6940), (0.4409, 0.6715), (0.4989, 0.6857),
        (0.5566, 0.6708), (0.6364, 0.6911), (0.7189, 0.7191), (0.6409, 0.7710),
        (0.5627, 0.7954), (0.4995, 0.8002), (0.4372, 0.7965), (0.3566, 0.7749),
        (0.3085, 0.7259), (0.4397, 0.7214), (0.4990, 0.7273), (0.5583, 0.7205),
        (0.6849, 0.7209), (0.5591, 0.7263), (0.4990, 0.7319), (0.4395, 0.7278),
    ],
    dtype=np.float64,
)
# fmt: on

_MODELS: dict[str, object] = {}  # lazily loaded, per process


class FaceNotFoundError(LFDError):
    """No face in the frame that alignment needs."""


@dataclass(frozen=True)
class AlignedClip:
    """Clip frames cropped to the canonical face.

    frames: (T, S, S) uint8 grey. transform: (2, 3) float64 similarity (an affine for render
    "framed"), source pixel -> crop pixel (``cv2.warpAffine`` convention). landmarks: (68, 2) float32 onset landmarks in crop pixels.
    """

    frames: np.ndarray
    transform: np.ndarray
    landmarks: np.ndarray


def template_points(size: int) -> np.ndarray:
    """Canonical (len(STABLE_LANDMARKS), 2) float64 positions of the stable landmarks, pixels."""
    d = _EYE_SPAN * size
    return _TEMPLATE_IN_D * d + np.array([0.5 * size, _EYE_Y * size])


def shape_predictor_path() -> Path:
    """Path of ``shape_predictor_68_face_landmarks.dat`` inside the installed package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise LFDError(
            "package face_recognition_models is not installed (pip install face_recognition_models)"
        )
    path = Path(spec.origin).parent / "models" / "shape_predictor_68_face_landmarks.dat"
    if not path.is_file():
        raise LFDError("68-point landmark model missing from face_recognition_models", path=path)
    return path


def _model(name: str) -> object:
    model = _MODELS.get(name)
    if model is None:
        import dlib  # deferred: heavy, and only face detection needs it

        if name == "hog":
            model = dlib.get_frontal_face_detector()
        elif name == "shape68":
            model = dlib.shape_predictor(str(shape_predictor_path()))
        elif name == "haar":
            model = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
            if model.empty():
                raise LFDError("OpenCV Haar cascade failed to load", path=cv2.data.haarcascades)
        else:
            raise KeyError(name)
        _MODELS[name] = model
    return model


def to_gray(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 3) BGR / (H, W, 4) BGRA image -> (H, W) uint8 grey."""
    if image.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        image = cv2.cvtColor(image, code)
    if image.ndim != 2:
        raise LFDError(f"expected a grey or BGR image, got shape {image.shape}")
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return image


def _largest(boxes: Sequence[Box]) -> Box | None:
    return max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1])) if boxes else None


def _detect_hog(gray: np.ndarray) -> Box | None:
    hog = _model("hog")
    h, w = gray.shape
    # dlib's HOG window is 80 px: upsample small frames once (e.g. 176x144 video, 128x128 crops)
    for upsample in (0, 1) if max(h, w) <= 1280 else (0,):
        rects = hog(gray, upsample)  # type: ignore[operator]
        boxes = [
            (max(0, r.left()), max(0, r.top()), min(w, r.right() + 1), min(h, r.bottom() + 1)) for r in rects
        ]
        boxes = [b for b in boxes if b[2] - b[0] > 8 and b[3] - b[1] > 8]
        if boxes:
            return _largest(boxes)
    return None


def _detect_haar(gray: np.ndarray) -> Box | None:
    haar = _model("haar")
    h, w = gray.shape
    found = haar.detectMultiScale(  # type: ignore[attr-defined]
        cv2.equalizeHist(gray), scaleFactor=1.1, minNeighbors=5, minSize=(max(24, min(h, w) // 10),) * 2
    )
    if len(found) == 0:
        return None
    x, y, bw, bh = _largest([(int(x), int(y), int(x + bw), int(y + bh)) for x, y, bw, bh in found])
    bw, bh = bw - x, bh - y
    # A Haar box includes more forehead than dlib's: move it to where dlib's predictor expects
    # the face (measured on the project's real test videos: ~0.92 the side, ~8% lower).
    side = 0.92 * bw
    cx, cy = x + 0.5 * bw, y + 0.5 * bh + 0.08 * bw
    return (
        max(0, int(round(cx - side / 2))),
        max(0, int(round(cy - side / 2))),
        min(w, int(round(cx + side / 2))),
        min(h, int(round(cy + side / 2))),
    )


def detect_face(gray: np.ndarray, detector: str = "dlib") -> Box | None:
    """Largest face in ``gray`` as (x0, y0, x1, y1) pixels, or None.

    gray: (H, W) uint8 (BGR is converted). detector: "dlib" (HOG, then Haar if HOG finds
    nothing) or "haar" (Haar cascade only).
    """
    gray = to_gray(gray)
    if detector == "dlib":
        return _detect_hog(gray) or _detect_haar(gray)
    if detector == "haar":
        return _detect_haar(gray)
    raise LFDError(f"unknown face detector {detector!r}; choose 'dlib' or 'haar'")


def face_landmarks(gray: np.ndarray, box: Box) -> np.ndarray:
    """iBUG-68 landmarks of the face in ``box``: (68, 2) float32, x, y pixels."""
    import dlib  # deferred: heavy, and only face detection needs it

    gray = to_gray(gray)
    x0, y0, x1, y1 = (int(v) for v in box)
    shape = _model("shape68")(gray, dlib.rectangle(x0, y0, x1 - 1, y1 - 1))  # type: ignore[operator]
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping ``src`` onto ``dst``.

    src, dst: (N, 2) points, N >= 2. Returns (2, 3) float64 for ``cv2.warpAffine`` (Umeyama 1991,
    without reflection).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    var_s = (s**2).sum() / len(src)
    if var_s <= 1e-12:
        raise LFDError("landmarks are degenerate (all at one point)")
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rot = u @ sign @ vt
    scale = float(np.trace(np.diag(sig) @ sign)) / var_s
    out = np.zeros((2, 3))
    out[:, :2] = scale * rot
    out[:, 2] = mu_d - scale * rot @ mu_s
    return out


def apply_transform(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (N, 2) points with a (2, 3) affine transform."""
    pts = np.asarray(points, dtype=np.float64)
    return pts @ transform[:, :2].T + transform[:, 2]


def alignment_transform(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(68, 2) landmarks in the source frame -> (2, 3) similarity onto the S x S template."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise LFDError(f"expected finite (68, 2) landmarks, got shape {lm.shape}")
    return similarity_transform(lm[list(STABLE_LANDMARKS)], template_points(size))


def affine_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares affine mapping ``src`` onto ``dst``: (N, 2) points, N >= 3 not on one line.
    Returns (2, 3) float64 for ``cv2.warpAffine``."""
    src = np.asarray(src, dtype=np.float64)
    if len(src) < 3 or np.linalg.matrix_rank(src - src.mean(0)) < 2:
        raise LFDError("landmarks are degenerate (all on one line)")
    homogeneous = np.hstack([src, np.ones((len(src), 1))])
    return np.linalg.lstsq(homogeneous, np.asarray(dst, dtype=np.float64), rcond=None)[0].T


def framing_transform(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(68, 2) landmarks in the source frame -> (2, 3) least-squares affine onto
    ``FRAMING_TEMPLATE`` at S x S: the composite's framing, its squeeze included."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise LFDError(f"expected finite (68, 2) landmarks, got shape {lm.shape}")
    return affine_transform(lm, FRAMING_TEMPLATE * size)


# How ``align_clip`` maps the onset's landmarks into the S x S face, per ``render`` setting.
_TRANSFORMS = {"aligned": alignment_transform, "framed": framing_transform}


def align_clip(
    frames: Sequence[np.ndarray] | np.ndarray,
    landmarks: np.ndarray | None = None,
    size: int = 128,
    detector: str = "dlib",
    onset: int = 0,
    source: str | Path | None = None,
    render: str = "aligned",
) -> AlignedClip:
    """Crop every frame to the face with ONE transform from the onset frame's landmarks.

    frames: T images (H, W) grey or (H, W, 3) BGR, all the same size.
    landmarks: (68, 2) for the onset frame, or (T, 68, 2) per frame (row ``onset`` is used), or
        None to detect the face and its landmarks on the onset frame.
    size: side S of the output crop. detector: see ``detect_face``. onset: index of the onset
        frame in ``frames``. source: clip path named in errors.
    render: "aligned", a similarity from the stable landmarks onto the canonical template
        (``alignment_transform``), or "framed", an affine from all 68 onto the composite's
        framing (``framing_transform``).
    Raises FaceNotFoundError when landmarks are None and no face is found on the onset frame.

    Seven parameters: the clip (frames, landmarks, onset index, source path) and three settings of
    ``PreprocessConfig`` (size, detector, render).
    """
    if len(frames) == 0:
        raise LFDError("cannot align an empty clip", path=source)
    if render not in _TRANSFORMS:
        raise LFDError(f"cannot align to render {render!r}: one of {sorted(_TRANSFORMS)}", path=source)
    if not 0 <= onset < len(frames):
        raise LFDError(f"onset index {onset} outside the clip's {len(frames)} frames", path=source)
    grays = [to_gray(f) for f in frames]
    if any(g.shape != grays[0].shape for g in grays):
        raise LFDError("clip frames differ in size", path=source)
    if landmarks is None:
        box = detect_face(grays[onset], detector=detector)
        if box is None:
            raise FaceNotFoundError(f"no face found on the onset frame (index {onset})", path=source)
        onset_landmarks = face_landmarks(grays[onset], box)
    else:
        lm = np.asarray(landmarks, dtype=np.float32)
        if lm.ndim == 3:
            if lm.shape[0] != len(frames):
                raise LFDError(f"landmarks have {lm.shape[0]} rows for {len(frames)} frames", path=source)
            lm = lm[onset]
        onset_landmarks = lm
    try:
        transform = _TRANSFORMS[render](onset_landmarks, size)
    except LFDError as err:
        raise LFDError(err.message, path=source) from None
    aligned = np.stack(
        [
            cv2.warpAffine(
                g, transform, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
            for g in grays
        ]
    )
    return AlignedClip(
        frames=aligned,
        transform=transform,
        landmarks=apply_transform(transform, onset_landmarks).astype(np.float32),
    )


def squeeze_clip(
    frames: Sequence[np.ndarray] | np.ndarray, size: int = 128, source: str | Path | None = None
) -> np.ndarray:
    """Every frame as given, squeezed to S x S: the ``render: composite`` face.

    frames: T images (H, W) grey or (H, W, 3) BGR, all the same size, already face crops (a
    dataset's cropped release). Each is area-resized to (size, size) without keeping its aspect,
    as the MEGC2019 composite's CASME II flow images were made: no detection, no alignment.
    Returns (T, size, size) uint8 grey.
    """
    if len(frames) == 0:
        raise LFDError("cannot render an empty clip", path=source)
    grays = [to_gray(f) for f in frames]
    if any(g.shape != grays[0].shape for g in grays):
        raise LFDError("clip frames differ in size", path=source)
    return np.stack([cv2.resize(g, (size, size), interpolation=cv2.INTER_AREA) for g in grays])


def track_faces(
    frames: Sequence[np.ndarray],
    detector: str = "dlib",
    every: int = 1,
    smooth: int = 1,
) -> list[Box | None]:
    """Face box per frame of a video; None where no face is found (marked, never invented).

    Detects on every ``every``-th frame (and the last); boxes of frames in between are linearly
    interpolated only when both neighbouring detections found a face. ``smooth``: radius (in
    detections) of a centred mean over consecutive found boxes, to steady the crop; 0 = none.
    """
    n = len(frames)
    if n == 0:
        return []
    if every < 1:
        raise LFDError(f"track_faces: every must be >= 1, got {every}")
    keys = sorted(set(range(0, n, every)) | {n - 1})
    return boxes_from_keys({k: detect_face(frames[k], detector=detector) for k in keys}, n, smooth)


def boxes_from_keys(found: dict[int, Box | None], n: int, smooth: int = 1) -> list[Box | None]:
    """Boxes of ``n`` frames from the detections on the key frames ``found`` (frame 0 and n - 1
    among them): smoothed within runs of found faces, interpolated between two found keys,
    None elsewhere (``track_faces``)."""
    keys = sorted(found)
    # smooth within runs of found faces: no box crosses a gap
    smoothed: dict[int, Box | None] = {}
    for i, k in enumerate(keys):
        box = found[k]
        if box is None or smooth <= 0:
            smoothed[k] = box
            continue
        run = [box]
        for step in (-1, 1):
            for r in range(1, smooth + 1):
                j = i + step * r
                if not 0 <= j < len(keys) or found[keys[j]] is None:
                    break
                run.append(found[keys[j]])  # type: ignore[arg-type]
        mean = np.mean(np.array(run, dtype=np.float64), axis=0)
        smoothed[k] = tuple(int(round(v)) for v in mean)  # type: ignore[assignment]
    out: list[Box | None] = [None] * n
    for a, b in zip(keys[:-1], keys[1:]):
        ba, bb = smoothed[a], smoothed[b]
        out[a] = ba
        if ba is None or bb is None:
            continue
        for t in range(a + 1, b):
            w = (t - a) / (b - a)
            out[t] = tuple(int(round((1 - w) * p + w * q)) for p, q in zip(ba, bb))  # type: ignore[assignment]
    out[keys[-1]] = smoothed[keys[-1]]
    return out
