"""A drawn face for the synthetic micro-expression set: identity, neutral render, facial actions.

The face is built on the 68-point iBUG landmark scheme (0-16 jaw, 17-26 brows, 27-35 nose,
36-47 eyes, 48-67 lips). A subject is a ``FaceIdentity``: landmark geometry, colours, texture,
hair and lighting. ``render_neutral`` draws it once, at rest, on a canvas larger than the
output frame; the dataset module then moves it with smooth warp fields built by
``action_field`` (facial action units and habitual movements as Gaussian-weighted landmark
displacements) and a per-frame head pose, so that the landmarks stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Mean iBUG-68 face shape in unit face coordinates (x right, y down), the TEMPLATE of
# OpenFace's align_dlib.py (Apache-2.0, Amos et al. 2016).
TEMPLATE_68 = np.array(
    [
        (0.0792, 0.3392),
        (0.0829, 0.4570),
        (0.0968, 0.5756),
        (0.1221, 0.6919),
        (0.1687, 0.8003),
        (0.2398, 0.8957),
        (0.3257, 0.9771),
        (0.4223, 1.0433),
        (0.5318, 1.0608),
        (0.6413, 1.0398),
        (0.7381, 0.9723),
        (0.8244, 0.8896),
        (0.8948, 0.7925),
        (0.9394, 0.6815),
        (0.9611, 0.5622),
        (0.9706, 0.4418),
        (0.9712, 0.3221),
        (0.1638, 0.2492),
        (0.2178, 0.2043),
        (0.2913, 0.1924),
        (0.3675, 0.2036),
        (0.4393, 0.2331),
        (0.5864, 0.2281),
        (0.6602, 0.1959),
        (0.7375, 0.1824),
        (0.8132, 0.1928),
        (0.8708, 0.2353),
        (0.5153, 0.3186),
        (0.5162, 0.3962),
        (0.5171, 0.4738),
        (0.5182, 0.5532),
        (0.4337, 0.6041),
        (0.4755, 0.6208),
        (0.5207, 0.6343),
        (0.5659, 0.6188),
        (0.6071, 0.6016),
        (0.2524, 0.3311),
        (0.2987, 0.3026),
        (0.3557, 0.3030),
        (0.4037, 0.3387),
        (0.3525, 0.3500),
        (0.2968, 0.3505),
        (0.6313, 0.3341),
        (0.6791, 0.2965),
        (0.7360, 0.2947),
        (0.7829, 0.3213),
        (0.7403, 0.3418),
        (0.6850, 0.3437),
        (0.3532, 0.7462),
        (0.4146, 0.7191),
        (0.4777, 0.7068),
        (0.5227, 0.7171),
        (0.5698, 0.7054),
        (0.6352, 0.7157),
        (0.6995, 0.7394),
        (0.6394, 0.8052),
        (0.5764, 0.8354),
        (0.5254, 0.8417),
        (0.4764, 0.8375),
        (0.4138, 0.8100),
        (0.3801, 0.7500),
        (0.4780, 0.7451),
        (0.5234, 0.7489),
        (0.5711, 0.7433),
        (0.6724, 0.7442),
        (0.5725, 0.7766),
        (0.5240, 0.7834),
        (0.4776, 0.7785),
    ],
    dtype=np.float64,
)
# left-right mirror of every point (image-left <-> image-right)
MIRROR_68 = np.array(
    [16 - i for i in range(17)]
    + [26 - i for i in range(10)]
    + [27, 28, 29, 30]
    + [35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]
    + [64, 63, 62, 61, 60, 67, 66, 65]
)
FACE_CENTER = np.array([0.525, 0.62])  # unit-coordinate point placed at the canvas centre
CHEEK = (40, 41, 31, 2)  # a control point given as a tuple is the mean of those landmarks

# A facial action: (control point, direction (dx, dy) on the image-left side, weight, sigma in
# unit face coordinates). Directions are mirrored (dx -> -dx) for the image-right side.
# Image-left is the subject's right ("R" in FACS codes), image-right the subject's left ("L").
Move = tuple[int | tuple[int, ...], tuple[float, float], float, float]
ACTIONS: dict[str, tuple[Move, ...]] = {
    # AU1 inner brow raiser, AU2 outer brow raiser, AU4 brow lowerer (down and together)
    "1": ((21, (0.0, -1.0), 1.0, 0.035), (20, (0.0, -1.0), 0.8, 0.035), (19, (0.0, -1.0), 0.3, 0.035)),
    "2": ((17, (0.0, -1.0), 0.8, 0.035), (18, (0.0, -1.0), 1.0, 0.035), (19, (0.0, -1.0), 0.6, 0.035)),
    "4": ((21, (0.5, 0.85), 1.0, 0.035), (20, (0.3, 0.9), 0.8, 0.035), (19, (0.0, 1.0), 0.4, 0.035)),
    # AU5 upper lid raiser, AU6 cheek raiser (cheek and lower lid up), AU7 lid tightener
    "5": ((37, (0.0, -1.0), 1.0, 0.02), (38, (0.0, -1.0), 1.0, 0.02)),
    "6": ((CHEEK, (0.0, -1.0), 1.0, 0.06), (40, (0.0, -1.0), 0.5, 0.02), (41, (0.0, -1.0), 0.5, 0.02)),
    "7": ((40, (0.0, -1.0), 1.0, 0.02), (41, (0.0, -1.0), 1.0, 0.02), (38, (0.0, 1.0), 0.3, 0.02)),
    # AU9 nose wrinkler (nose wings up, inner brow down), AU10 upper lip raiser
    "9": ((31, (0.2, -1.0), 1.0, 0.03), (29, (0.0, -1.0), 0.5, 0.03), (21, (0.2, 0.8), 0.4, 0.03)),
    "10": (
        (50, (0.0, -1.0), 1.0, 0.03),
        (49, (0.0, -1.0), 0.6, 0.03),
        (61, (0.0, -1.0), 1.0, 0.03),
        (51, (0.0, -1.0), 0.9, 0.03),
    ),
    # AU12 lip corner puller (up and out), AU14 dimpler (corners in), AU15 corner depressor,
    # AU17 chin raiser (chin and lower lip up)
    "12": (
        (48, (-0.6, -0.8), 1.0, 0.035),
        (60, (-0.6, -0.8), 0.8, 0.035),
        (49, (-0.3, -0.6), 0.4, 0.03),
        (CHEEK, (0.0, -1.0), 0.3, 0.05),
    ),
    "14": ((48, (1.0, 0.0), 1.0, 0.03), (60, (1.0, 0.0), 0.7, 0.03)),
    "15": ((48, (-0.2, 1.0), 1.0, 0.035), (60, (0.0, 1.0), 0.8, 0.035), (59, (0.0, 0.6), 0.4, 0.03)),
    "17": (
        (8, (0.0, -1.0), 1.0, 0.05),
        (7, (0.0, -1.0), 0.7, 0.05),
        (57, (0.0, -1.0), 0.8, 0.035),
        (58, (0.0, -1.0), 0.7, 0.035),
        (66, (0.0, -1.0), 0.5, 0.03),
    ),
    # habitual movements, independent of emotion
    "blink": ((37, (0.0, 1.0), 1.0, 0.022), (38, (0.0, 1.0), 1.0, 0.022)),
    "twitch": ((48, (-0.8, -0.4), 1.0, 0.035), (59, (-0.5, -0.2), 0.4, 0.03)),
    "flick": ((19, (0.0, -1.0), 1.0, 0.04), (20, (0.0, -1.0), 0.8, 0.04)),
    "flare": ((31, (-1.0, 0.0), 1.0, 0.025), (32, (-0.5, 0.0), 0.4, 0.025)),
    "swallow": ((8, (0.0, 1.0), 1.0, 0.05), (57, (0.0, 0.6), 0.5, 0.04)),
}


@dataclass(frozen=True)
class FaceIdentity:
    """One synthetic subject's appearance; ``shape`` is (68, 2) in unit face coordinates."""

    shape: np.ndarray
    scale: float  # face size: canvas pixels per unit face coordinate, as a fraction of the frame
    skin: tuple[float, float, float]  # BGR in [0, 1]
    hair: tuple[float, float, float]
    lips: tuple[float, float, float]
    iris: tuple[float, float, float]
    background: tuple[float, float, float]
    shirt: tuple[float, float, float]
    light: tuple[float, float, float]  # unit direction of the key light
    brow_thickness: float  # unit face coordinates
    hairline: float  # forehead height above the brows, unit face coordinates
    long_hair: bool
    texture_seed: int


def random_identity(rng: np.random.Generator) -> FaceIdentity:
    """Draw a subject: face shape (landmark geometry), colours, texture, hair and lighting."""
    shape = TEMPLATE_68.copy()
    center = shape.mean(axis=0)
    shape = center + (shape - center) * [rng.uniform(0.9, 1.08), rng.uniform(0.92, 1.08)]
    # jaw: broad or narrow lower face, stronger towards the chin
    jaw = np.arange(3, 14)
    depth = np.clip((shape[jaw, 1] - 0.5) / 0.5, 0, 1)
    shape[jaw, 0] = center[0] + (shape[jaw, 0] - center[0]) * (1 + rng.uniform(-0.12, 0.06) * depth)
    # eyes (with brows): spacing, size; brows: height and arch
    for side in (1, -1):
        eye = np.arange(36, 42) if side == 1 else np.arange(42, 48)
        brow = np.arange(17, 22) if side == 1 else np.arange(22, 27)
        shift = -side * rng.uniform(-0.02, 0.02)
        eye_c = shape[eye].mean(axis=0)
        shape[eye] = eye_c + (shape[eye] - eye_c) * [rng.uniform(0.88, 1.15), rng.uniform(0.8, 1.25)]
        shape[eye, 0] += shift
        shape[brow, 0] += shift
        shape[brow, 1] += rng.uniform(-0.03, 0.02)
        shape[brow[1:4], 1] -= rng.uniform(0.0, 0.02)
    # nose length and width, mouth width, height and lip thickness
    nose = np.arange(28, 36)
    shape[nose, 1] = shape[27, 1] + (shape[nose, 1] - shape[27, 1]) * rng.uniform(0.9, 1.1)
    wings = np.arange(31, 36)
    shape[wings, 0] = shape[33, 0] + (shape[wings, 0] - shape[33, 0]) * rng.uniform(0.85, 1.25)
    mouth = np.arange(48, 68)
    mouth_c = shape[60:68].mean(axis=0)
    shape[mouth, 0] = mouth_c[0] + (shape[mouth, 0] - mouth_c[0]) * rng.uniform(0.85, 1.15)
    shape[mouth, 1] += rng.uniform(-0.02, 0.02)
    for outer, inner, lo, hi in (
        ((49, 50, 51, 52, 53), (61, 61, 62, 63, 63), 0.7, 1.4),
        ((55, 56, 57, 58, 59), (65, 65, 66, 67, 67), 0.7, 1.4),
    ):
        o, i = np.array(outer), np.array(inner)
        shape[o] = shape[i] + (shape[o] - shape[i]) * rng.uniform(lo, hi)
    shape += rng.normal(0, 0.004, shape.shape)

    tone, warmth = rng.uniform(0.25, 1.0), rng.uniform(-0.06, 0.06)
    skin = (0.55 * tone + 0.08 - warmth, 0.68 * tone + 0.1, 0.8 * tone + 0.15 + warmth)  # BGR
    hair_v = rng.uniform(0.04, 0.35)
    hair = (hair_v * 0.8, hair_v * 0.9, hair_v * rng.uniform(1.0, 1.5))
    light = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.6, -0.1), 1.0])
    return FaceIdentity(
        shape=shape,
        scale=rng.uniform(0.64, 0.72),
        skin=tuple(min(c, 1.0) for c in skin),
        hair=hair,
        lips=(skin[0] * 0.6, skin[1] * 0.55, min(skin[2] * 0.85, 1.0)),
        iris=tuple(rng.uniform(0.05, 0.3) * np.array([0.6, 0.8, 1.0])),
        background=tuple(rng.uniform(0.45, 0.95) * np.array([1.0, 1.0, 1.0]) + rng.uniform(-0.08, 0.08, 3)),
        shirt=tuple(rng.uniform(0.05, 0.9, 3)),
        light=tuple(light / np.linalg.norm(light)),
        brow_thickness=rng.uniform(0.022, 0.04),
        hairline=rng.uniform(0.16, 0.3),
        long_hair=bool(rng.random() < 0.4),
        texture_seed=int(rng.integers(2**31)),
    )


def face_landmarks(identity: FaceIdentity, size: int, canvas: int) -> np.ndarray:
    """Neutral landmarks on the canvas: (68, 2) float64 pixel coordinates (x, y)."""
    return (identity.shape - FACE_CENTER) * identity.scale * size + canvas / 2.0


def render_neutral(identity: FaceIdentity, size: int, canvas: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw the subject at rest on a ``canvas`` x ``canvas`` image for ``size`` x ``size`` frames.

    Returns ``image`` (canvas, canvas, 3) float32 BGR in [0, 1] and ``landmarks`` (68, 2)
    float64 canvas pixels. Drawn at twice the resolution and reduced, so edges are smooth.
    """
    up = 2
    n = canvas * up
    landmarks = face_landmarks(identity, size, canvas)
    p = (landmarks + 0.5) * up - 0.5  # the same points at drawing resolution (pixel centres)
    unit = identity.scale * size * up  # pixels per unit face coordinate at drawing resolution
    rng = np.random.default_rng(identity.texture_seed)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)

    img = np.empty((n, n, 3), np.float32)
    img[:] = identity.background
    img *= (1.05 - 0.15 * yy / n)[..., None]  # light falls off towards the bottom
    img *= 1 + 0.06 * _noise(rng, n, n / 6)[..., None]

    hair_c = p[[17, 26]].mean(axis=0) - [0, 0.12 * unit]
    hair_axes = (0.58 * unit, (0.5 + 0.15 * identity.long_hair) * unit)
    _ellipse(img, hair_c, hair_axes, identity.hair, 1.0)
    if identity.long_hair:
        _poly(
            img,
            np.array(
                [
                    p[0] - [0.1 * unit, 0],
                    p[16] + [0.1 * unit, 0],
                    p[12] + [0.12 * unit, 0.15 * unit],
                    p[4] - [0.12 * unit, -0.15 * unit],
                ]
            ),
            identity.hair,
            1.0,
        )
    shirt_top = p[8, 1] + 0.22 * unit
    _ellipse(img, (p[8, 0], shirt_top + 0.5 * unit), (0.75 * unit, 0.5 * unit), identity.shirt, 1.0)
    neck = np.array([p[4], p[12], p[12] + [-0.05 * unit, 0.5 * unit], p[4] + [0.05 * unit, 0.5 * unit]])
    _poly(img, neck, np.array(identity.skin) * 0.7, 1.0)
    for i, side in ((1, -1), (15, 1)):
        _ellipse(
            img,
            p[i] + [side * 0.03 * unit, 0.02 * unit],
            (0.06 * unit, 0.12 * unit),
            np.array(identity.skin) * 0.85,
            1.0,
        )

    # face: jaw line plus a forehead arc, lit as an ellipsoid from ``light``
    jaw_mid = (p[0] + p[16]) / 2
    top = p[17:27, 1].min() - identity.hairline * unit
    t = np.linspace(0, np.pi, 24)
    arc = np.stack(
        [
            jaw_mid[0] + (p[16, 0] - jaw_mid[0]) * np.cos(t),
            jaw_mid[1] - (jaw_mid[1] - top - 0.05 * unit) * np.sin(t),
        ],
        axis=1,
    )
    outline = np.concatenate([p[:17], arc[1:-1]])
    face_mask = _mask(n, outline, blur=0.8)
    cx, cy = (p[0, 0] + p[16, 0]) / 2, (top + p[8, 1]) / 2
    rx, ry = (p[16, 0] - p[0, 0]) / 2 * 1.1, (p[8, 1] - top) / 2 * 1.1
    nx, ny = (xx - cx) / rx, (yy - cy) / ry
    nz = np.sqrt(np.clip(1 - nx**2 - ny**2, 0.0, 1.0))
    lx, ly, lz = identity.light
    shade = 0.5 + 0.5 * np.clip(nx * lx + ny * ly + nz * lz, 0, 1)
    skin = np.array(identity.skin, np.float32) * shade[..., None]
    img = img * (1 - face_mask[..., None]) + skin * face_mask[..., None]

    # hair over the top of the forehead, with an uneven fringe
    fringe_y = top + 0.08 * unit + rng.normal(0, 0.015 * unit, 9).cumsum() * 0.3
    fringe = np.concatenate(
        [
            [[p[0, 0] - 0.1 * unit, top - 0.4 * unit]],
            np.stack([np.linspace(p[0, 0], p[16, 0], 9), fringe_y], axis=1),
            [[p[16, 0] + 0.1 * unit, top - 0.4 * unit]],
        ]
    )
    _poly(img, fringe, identity.hair, 1.0)

    # soft shadows: eye sockets, nose side, under the nose, under the lower lip, cheeks' blush
    for eye in (slice(36, 42), slice(42, 48)):
        c = p[eye].mean(axis=0) - [0, 0.02 * unit]
        _blob(img, xx, yy, c, (0.09 * unit, 0.06 * unit), 0.22)
    side = 1 if identity.light[0] < 0 else -1
    nose_line = np.array([p[27], p[28], p[29], p[30]]) + [side * 0.045 * unit, 0]
    _stroke(img, nose_line, 0.035 * unit, (0, 0, 0), 0.18, blur=0.03 * unit)
    _blob(img, xx, yy, p[33] + [0, 0.02 * unit], (0.07 * unit, 0.02 * unit), 0.25)
    _blob(img, xx, yy, p[57] + [0, 0.05 * unit], (0.07 * unit, 0.025 * unit), 0.18)
    _blob(img, xx, yy, p[30] - [0.01 * unit, 0.01 * unit], (0.03 * unit, 0.03 * unit), -0.12)
    for i, j in ((31, 48), (35, 54)):  # nasolabial folds
        mid = (p[i] + p[j]) / 2 + [(p[i, 0] - p[33, 0]) * 0.5, 0]
        _stroke(
            img,
            np.array([p[i], mid, p[j] + [(p[j, 0] - p[51, 0]) * 0.15, 0]]),
            0.012 * unit,
            (0, 0, 0),
            0.12,
            blur=0.01 * unit,
        )

    # skin texture: fine grain and blotches, plus a few moles (identity marks, they move with it)
    texture = 1 + 0.045 * _noise(rng, n, 1.2 * up) + 0.025 * _noise(rng, n, 4 * up)
    img *= np.where(face_mask > 0, texture, 1.0)[..., None].astype(np.float32)
    for _ in range(int(rng.integers(0, 5))):
        k = int(rng.integers(0, 68))
        _blob(img, xx, yy, p[k] + rng.normal(0, 0.08 * unit, 2), (0.012 * unit,) * 2, 0.5)

    # features: nostrils, lips and mouth line, eyes, brows
    for a, b in ((31, 32), (34, 35)):
        _ellipse(
            img, (p[a] + p[b]) / 2 - [0, 0.01 * unit], (0.03 * unit, 0.014 * unit), (0.1, 0.1, 0.12), 0.75
        )
    _poly(img, p[48:60], identity.lips, 0.9, blur=0.006 * unit)
    _poly(img, np.concatenate([p[48:55], p[64:59:-1]]), np.array(identity.lips) * 0.85, 0.5)
    mouth_line = np.concatenate([[p[48]], (p[60:65] + p[[60, 67, 66, 65, 64]]) / 2, [p[54]]])
    _stroke(img, mouth_line, 0.012 * unit, (0.08, 0.06, 0.08), 0.9)
    for eye, lid in ((slice(36, 42), [36, 37, 38, 39]), (slice(42, 48), [42, 43, 44, 45])):
        sclera = _mask(n, p[eye], blur=0.5)
        img = img * (1 - sclera[..., None]) + np.float32(0.85) * sclera[..., None]
        centre = p[eye].mean(axis=0)
        width = np.linalg.norm(p[eye][3] - p[eye][0])
        iris = np.zeros((n, n), np.float32)
        cv2.circle(iris, _pt(centre), int(0.24 * width * 16), 1.0, -1, cv2.LINE_AA, 4)
        pupil = np.zeros((n, n), np.float32)
        cv2.circle(pupil, _pt(centre), int(0.1 * width * 16), 1.0, -1, cv2.LINE_AA, 4)
        img = _over(img, iris * sclera, identity.iris, 1.0)
        img = _over(img, pupil * sclera, (0.03, 0.03, 0.03), 1.0)
        _stroke(img, p[lid], 0.018 * unit, (0.05, 0.04, 0.05), 0.95)
        _stroke(img, p[lid] - [0, 0.035 * unit], 0.008 * unit, (0, 0, 0), 0.25, blur=0.006 * unit)
        _stroke(img, p[[lid[3], lid[3] + 1, lid[3] + 2, lid[0]]], 0.007 * unit, (0.1, 0.1, 0.1), 0.4)
    for brow in (slice(17, 22), slice(22, 27)):
        _brow(img, p[brow], identity.brow_thickness * unit, identity.hair)

    img = cv2.GaussianBlur(img, (0, 0), 0.6)
    img = cv2.resize(img, (canvas, canvas), interpolation=cv2.INTER_AREA)
    return np.clip(img, 0, 1), landmarks


def action_field(
    actions: list[tuple[str, float, float]],
    landmarks: np.ndarray,
    unit: float,
    canvas: int,
    side_gain: tuple[float, float] = (1.0, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Displacement field of facial actions at full strength.

    ``actions``: (code, amplitude px, turn radians), codes as in ``action_moves``; each
    action's directions are turned by ``turn`` (mirrored on the image-right side) and its
    field is scaled so that its largest displacement is ``amplitude``. ``side_gain``: strength
    on the image-left and image-right sides (a subject's asymmetry). ``landmarks``: (68, 2)
    neutral canvas pixels; ``unit``: canvas pixels per unit face coordinate. Returns ``field``
    (canvas, canvas, 2) float32 px (dx, dy) at every canvas pixel and ``at_landmarks`` (68, 2)
    float64, the same field evaluated exactly at the landmarks.
    """
    axis = np.arange(canvas, dtype=np.float64)
    field = np.zeros((canvas, canvas, 2))
    at_landmarks = np.zeros((68, 2))
    for code, amplitude, turn in actions:
        cos, sin = np.cos(turn), np.sin(turn)
        code_field = np.zeros_like(field)
        code_marks = np.zeros_like(at_landmarks)
        for (point, (dx, dy), weight, sigma), side in action_moves(code):
            idx = point if isinstance(point, tuple) else (point,)
            if side < 0:
                idx = tuple(int(MIRROR_68[i]) for i in idx)
            centre = landmarks[list(idx)].mean(axis=0)
            gain = side_gain[0] if side > 0 else side_gain[1]
            d = (
                np.array([(cos * dx - sin * dy) * side, sin * dx + cos * dy])
                / np.hypot(dx, dy)
                * weight
                * gain
            )
            s2 = 2 * (sigma * unit) ** 2
            # the Gaussian is separable: an outer product of its x and y profiles
            weight_map = np.outer(
                np.exp(-((axis - centre[1]) ** 2) / s2), np.exp(-((axis - centre[0]) ** 2) / s2)
            )
            code_field += weight_map[..., None] * d
            code_marks += np.exp(-((landmarks - centre) ** 2).sum(-1) / s2)[:, None] * d
        peak = np.sqrt((code_field**2).sum(-1)).max()
        field += code_field * (amplitude / peak)
        at_landmarks += code_marks * (amplitude / peak)
    return field.astype(np.float32), at_landmarks


def action_moves(code: str) -> list[tuple[Move, int]]:
    """The moves of one action code ("12", "L12", "R1", "blink", ...) with their side.

    Side +1 is image-left, -1 image-right. Bilateral codes act on both sides; "L" (the
    subject's left) acts on the image-right side, "R" on the image-left side. A move on a
    midline point (one that is its own mirror) acts once.
    """
    if code[0] in "LR":
        name, sides = code[1:], ((-1,) if code[0] == "L" else (1,))
    else:
        name, sides = code, (1, -1)
    out = []
    for move in ACTIONS[name]:
        point = move[0]
        on_midline = not isinstance(point, tuple) and MIRROR_68[point] == point
        for side in sides[:1] if on_midline else sides:
            out.append((move, side))
    return out


def _pt(xy: np.ndarray) -> tuple[int, int]:
    return int(round(xy[0] * 16)), int(round(xy[1] * 16))


def _mask(n: int, polygon: np.ndarray, blur: float = 0.0) -> np.ndarray:
    mask = np.zeros((n, n), np.float32)
    cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4)
    return cv2.GaussianBlur(mask, (0, 0), blur) if blur > 0 else mask


def _over(img: np.ndarray, mask: np.ndarray, colour, alpha: float) -> np.ndarray:
    m = (mask * alpha)[..., None]
    return img * (1 - m) + np.asarray(colour, np.float32) * m


def _poly(img: np.ndarray, polygon: np.ndarray, colour, alpha: float, blur: float = 0.0) -> None:
    img[:] = _over(img, _mask(img.shape[0], polygon, blur), colour, alpha)


def _ellipse(img: np.ndarray, centre, axes, colour, alpha: float) -> None:
    mask = np.zeros(img.shape[:2], np.float32)
    cv2.ellipse(mask, _pt(np.asarray(centre)), _pt(np.asarray(axes)), 0, 0, 360, 1.0, -1, cv2.LINE_AA, 4)
    img[:] = _over(img, mask, colour, alpha)


def _stroke(
    img: np.ndarray, points: np.ndarray, width: float, colour, alpha: float, blur: float = 0.0
) -> None:
    mask = np.zeros(img.shape[:2], np.float32)
    pts = np.round(points * 16).astype(np.int32)
    cv2.polylines(mask, [pts], False, 1.0, max(1, int(round(width))), cv2.LINE_AA, 4)
    if blur > 0:
        mask = cv2.GaussianBlur(mask, (0, 0), blur)
    img[:] = _over(img, mask, colour, alpha)


def _brow(img: np.ndarray, points: np.ndarray, thickness: float, colour) -> None:
    """A tapered brow through five points (inner end thicker on the nose side)."""
    taper = np.linspace(0.6, 1.0, 5) if points[0, 0] < points[-1, 0] else np.linspace(1.0, 0.6, 5)
    normal = np.array([0.0, 1.0])
    upper = points - normal * thickness * taper[:, None] / 2
    lower = points + normal * thickness * taper[:, None] / 2
    _poly(img, np.concatenate([upper, lower[::-1]]), colour, 0.9, blur=thickness * 0.15)


def _blob(img: np.ndarray, xx: np.ndarray, yy: np.ndarray, centre, axes, strength: float) -> None:
    """Darken (strength > 0) or lighten (< 0) a Gaussian patch."""
    g = np.exp(-(((xx - centre[0]) / axes[0]) ** 2 + ((yy - centre[1]) / axes[1]) ** 2) / 2)
    img *= (1 - strength * g)[..., None]


def _noise(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Smooth zero-mean noise with unit standard deviation and correlation length ``sigma`` px."""
    x = cv2.GaussianBlur(rng.standard_normal((n, n)).astype(np.float32), (0, 0), sigma)
    return x / (x.std() + 1e-8)
