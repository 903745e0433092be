"""Occluder generator: pastes hands, phones, paper, hair, scarves, bottles, hats, lenses and
patches cut from other real photos onto real faces, and labels each region by covered fraction.

Works on any RGB image with the face's keypoints (the recipe uses context crops). Coverage is
measured with the kiosk's own region boxes (`crops.REGION_BOXES`), so labels and run time
agree on where a region is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.domain import KEYPOINTS, REGIONS, Face
from kiosk.vision.crops import REGION_BOXES, crop

# A region counts as blocked when this much of its box is covered, clear below CLEAR_BELOW;
# in between the label is unknown (ignored by the loss) rather than a coin flip.
BLOCKED_AT = 0.4
CLEAR_BELOW = 0.15

Rng = np.random.Generator


@dataclass(frozen=True)
class Occluded:
    image: np.ndarray
    coverage: dict[str, float]  # covered fraction per region box
    kind: str


def coverage(alpha: np.ndarray, face: Face) -> dict[str, float]:
    """Covered fraction of every region box, measured through the shared crop geometry."""
    solid = (alpha > 0.5).astype(np.float32)
    return {r: float(crop(solid, face, REGION_BOXES[r]).mean()) for r in REGIONS}


def region_labels(cov: dict[str, float], base: tuple[int, ...]) -> tuple[int, ...]:
    """Blocked / clear / unknown per region; an uncovered region keeps its real label."""
    out = []
    for r, b in zip(REGIONS, base, strict=True):
        c = cov[r]
        out.append(1 if c >= BLOCKED_AT else b if c < CLEAR_BELOW else (1 if b == 1 else -1))
    return tuple(out)


def _pts(face: Face) -> dict[str, np.ndarray]:
    return {k: np.array(face.keypoints[k], np.float64) for k in KEYPOINTS}


def _rot(points: np.ndarray, angle: float, centre: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return (points - centre) @ np.array([[c, s], [-s, c]]) + centre


def _poly(alpha: np.ndarray, points: np.ndarray) -> None:
    cv2.fillPoly(alpha, [np.round(points * 4).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=2)


def _ellipse(
    alpha: np.ndarray, centre: np.ndarray, axes: tuple[float, float], angle_deg: float
) -> None:
    box = (
        (float(centre[0]), float(centre[1])),
        (float(axes[0]) * 2, float(axes[1]) * 2),
        float(angle_deg),
    )
    cv2.ellipse(alpha, box, 1.0, -1, cv2.LINE_AA)


def _capsule(alpha: np.ndarray, a: np.ndarray, b: np.ndarray, width: float) -> None:
    cv2.line(
        alpha,
        tuple(np.round(a * 4).astype(int).tolist()),
        tuple(np.round(b * 4).astype(int).tolist()),
        1.0,
        max(1, int(round(width))),
        cv2.LINE_AA,
        2,
    )


# --- shapes: each returns an alpha (float 0..1, image size) ------------------------------------


def hand_shape(
    shape: tuple[int, int], centre: np.ndarray, size: float, angle: float, rng: Rng
) -> np.ndarray:
    """Palm and fingers, as a hand held flat or half-closed in front of the face."""
    alpha = np.zeros(shape, np.float32)
    palm_w, palm_h = size * rng.uniform(0.45, 0.6), size * rng.uniform(0.5, 0.65)
    _ellipse(alpha, centre, (palm_w / 2, palm_h / 2), np.degrees(angle))
    spread = rng.uniform(0.0, 0.25)
    up = np.array([np.sin(angle), -np.cos(angle)])
    side = np.array([np.cos(angle), np.sin(angle)])
    n = int(rng.integers(3, 5))
    for i in range(n):
        f = (i - (n - 1) / 2) / max(n - 1, 1)
        base = centre + up * palm_h * 0.35 + side * f * palm_w * 0.75
        direction = up + side * f * spread * 2
        direction /= np.linalg.norm(direction)
        length = size * rng.uniform(0.35, 0.55) * (1 - 0.3 * abs(f))
        _capsule(alpha, base, base + direction * length, palm_w / n * rng.uniform(0.8, 1.05))
    if rng.random() < 0.8:  # thumb
        s = -1 if rng.random() < 0.5 else 1
        base = centre + side * s * palm_w * 0.45
        tip = base + (side * s * 0.8 + up * 0.6) * size * rng.uniform(0.25, 0.4)
        _capsule(alpha, base, tip, palm_w * 0.22)
    return alpha


def rect_shape(
    shape: tuple[int, int],
    centre: np.ndarray,
    w: float,
    h: float,
    angle: float,
    radius: float = 0.0,
) -> np.ndarray:
    alpha = np.zeros(shape, np.float32)
    r = min(radius, w / 2, h / 2)
    hw, hh = w / 2 - r, h / 2 - r
    corners = np.array([[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]]) + centre
    _poly(alpha, _rot(corners, angle, centre))
    if r > 0:
        for c in _rot(corners, angle, centre):
            _ellipse(alpha, c, (r, r), 0)
        _poly(
            alpha,
            _rot(
                np.array([[-hw - r, -hh], [hw + r, -hh], [hw + r, hh], [-hw - r, hh]]) + centre,
                angle,
                centre,
            ),
        )
        _poly(
            alpha,
            _rot(
                np.array([[-hw, -hh - r], [hw, -hh - r], [hw, hh + r], [-hw, hh + r]]) + centre,
                angle,
                centre,
            ),
        )
    return alpha


def blob_shape(shape: tuple[int, int], centre: np.ndarray, size: float, rng: Rng) -> np.ndarray:
    """A random smooth polygon (objects, cut-out patches)."""
    n = int(rng.integers(5, 11))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = size / 2 * rng.uniform(0.6, 1.0, n)
    pts = centre + np.stack([np.cos(angles) * radii, np.sin(angles) * radii], 1)
    alpha = np.zeros(shape, np.float32)
    _poly(alpha, pts)
    return cv2.GaussianBlur(alpha, (0, 0), size * 0.06) if size > 8 else alpha


def hair_shape(shape: tuple[int, int], p: dict[str, np.ndarray], d: float, rng: Rng) -> np.ndarray:
    """Strands or a fringe falling from above the forehead over one eye or both."""
    alpha = np.zeros(shape, np.float32)
    eyes = (p["left_eye"] + p["right_eye"]) / 2
    up = eyes - p["mouth"]
    up /= np.linalg.norm(up)
    side = np.array([-up[1], up[0]])
    target = p["left_eye"] if rng.random() < 0.5 else p["right_eye"]
    if rng.random() < 0.3:
        target = eyes
    for _ in range(int(rng.integers(4, 12))):
        start = target + up * d * rng.uniform(0.9, 1.5) + side * d * rng.uniform(-0.5, 0.5)
        pts = [start]
        for _ in range(5):
            pts.append(
                pts[-1] - up * d * rng.uniform(0.2, 0.4) + side * d * rng.uniform(-0.15, 0.15)
            )
        cv2.polylines(
            alpha,
            [np.round(np.array(pts) * 4).astype(np.int32)],
            False,
            1.0,
            max(1, int(d * rng.uniform(0.03, 0.09))),
            cv2.LINE_AA,
            2,
        )
    return alpha


# --- textures ----------------------------------------------------------------------------------


def _skin(image: np.ndarray, face: Face, rng: Rng) -> np.ndarray:
    """A skin colour near this face's own (hands usually match the face), or another tone."""
    patch = crop(image, face, REGION_BOXES["nose"])
    own = np.median(patch.reshape(-1, 3), axis=0).astype(np.float32)
    tones = np.array(
        [[224, 172, 140], [198, 134, 96], [141, 85, 56], [90, 56, 37], [240, 200, 170]], np.float32
    )
    base = own if rng.random() < 0.6 else tones[rng.integers(len(tones))]
    return np.clip(base * rng.uniform(0.8, 1.2) + rng.normal(0, 8, 3), 0, 255)


def _shaded(shape: tuple[int, int], colour: np.ndarray, rng: Rng, noise: float = 6.0) -> np.ndarray:
    """A flat colour lit by a random linear gradient, with grain."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, 2 * np.pi)
    g = (np.cos(a) * xx + np.sin(a) * yy) / max(h, w)
    light = 1 + rng.uniform(0.1, 0.5) * (g - g.mean())
    tex = colour[None, None, :] * light[..., None] + rng.normal(0, noise, (h, w, 1))
    return np.clip(tex, 0, 255).astype(np.float32)


def _stripes(shape: tuple[int, int], rng: Rng) -> np.ndarray:
    h, w = shape
    c1, c2 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, np.pi)
    period = rng.uniform(3, 14)
    m = (np.sin((np.cos(a) * xx + np.sin(a) * yy) / period * 2 * np.pi) > 0)[..., None]
    return np.where(m, c1, c2).astype(np.float32) + rng.normal(0, 5, (h, w, 1))


def _text_card(shape: tuple[int, int], rng: Rng) -> np.ndarray:
    base = rng.uniform(190, 255) * np.array([1, rng.uniform(0.93, 1), rng.uniform(0.85, 1)])
    tex = _shaded(shape, base.astype(np.float32), rng, noise=3)
    h, w = shape
    spacing = int(rng.integers(4, 9))
    ink = rng.uniform(0, 90)
    for y in range(int(rng.integers(0, spacing)), h, spacing):
        if rng.random() < 0.7:
            x0, x1 = sorted(rng.integers(0, w, 2).tolist())
            cv2.line(tex, (x0, y), (x1, y), (ink, ink, ink), 1)
    return tex


def _patch_from(other: np.ndarray, shape: tuple[int, int], rng: Rng) -> np.ndarray:
    """Pixels of another real photo, shifted, flipped and rescaled: real-world texture."""
    h, w = shape
    scale = rng.uniform(0.7, 2.0)
    src = cv2.resize(other, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        src = src[:, ::-1]
    reps = (int(np.ceil(h * 2 / src.shape[0])) + 1, int(np.ceil(w * 2 / src.shape[1])) + 1, 1)
    big = np.tile(src, reps)
    y, x = int(rng.integers(0, big.shape[0] - h)), int(rng.integers(0, big.shape[1] - w))
    return big[y : y + h, x : x + w].astype(np.float32)


# --- occluders: (image, face, rng, other photo) -> (alpha, texture, kind) -------------------------

Maker = Callable[[np.ndarray, Face, Rng, np.ndarray], tuple[np.ndarray, np.ndarray, str]]


def _target(p: dict[str, np.ndarray], rng: Rng, d: float) -> np.ndarray:
    name = rng.choice(
        ["left_eye", "right_eye", "nose", "mouth", "mouth", "chin", "forehead", "eyes"]
    )
    eyes = (p["left_eye"] + p["right_eye"]) / 2
    down = p["mouth"] - eyes
    centre = {
        "eyes": eyes,
        "forehead": eyes - down * 0.8,
        "chin": p["mouth"] + down * 0.55,
    }.get(str(name), p.get(str(name), eyes))
    return centre + rng.normal(0, 0.25 * d, 2)


def _face_angle(p: dict[str, np.ndarray]) -> float:
    v = p["left_eye"] - p["right_eye"]
    return float(np.arctan2(v[1], v[0]))


def make_hand(image: np.ndarray, face: Face, rng: Rng, other: np.ndarray):  # type: ignore[no-untyped-def]
    p, d = _pts(face), face.eye_distance
    alpha = hand_shape(
        image.shape[:2],
        _target(p, rng, d),
        d * rng.uniform(1.2, 2.4),
        rng.uniform(-np.pi, np.pi),
        rng,
    )
    tex = _shaded(image.shape[:2], _skin(image, face, rng), rng)
    # creases between fingers: slightly darker streaks keep the hand from looking like a blob
    return alpha, tex, "hand"


def make_phone(image: np.ndarray, face: Face, rng: Rng, other: np.ndarray):  # type: ignore[no-untyped-def]
    p, d = _pts(face), face.eye_distance
    w = d * rng.uniform(0.7, 1.2)
    alpha = rect_shape(
        image.shape[:2],
        _target(p, rng, d),
        w,
        w * rng.uniform(1.7, 2.2),
        _face_angle(p) + rng.uniform(-0.8, 0.8) + (np.pi / 2 if rng.random() < 0.3 else 0),
        radius=w * 0.12,
    )
    colour = rng.choice([rng.uniform(5, 60, 3), rng.uniform(0, 255, 3), rng.uniform(150, 230, 3)])
    tex = _shaded(image.shape[:2], np.asarray(colour, np.float32), rng, noise=4)
    return alpha, tex, "phone"


def make_paper(image: np.ndarray, face: Face, rng: Rng, other: np.ndarray):  # type: ignore[no-untyped-def]
    p, d = _pts(face), face.eye_distance
    w = d * rng.uniform(0.8, 2.5)
    alpha = rect_shape(
        image.shape[:2], _target(p, rng, d), w, w * rng.uniform(0.5, 1.5), rng.uniform(-0.6, 0.6)
    )
    return alpha, _text_card(image.shape[:2], rng), "paper"


def make_patch(image: np.ndarray, face: Face, rng: Rng, other: np.ndarray):  # type: ignore[no-untyped-def]
    p, d = _pts(face), face.eye_distance
    alpha = blob_shape(image.shape[:2], _target(p, rng, d), d * rng.uniform(0.7, 2.0), rng)
    return alpha, _patch_from(other, image.shape[:2], rng), "patch"


def make_object(image: np.ndarray, face: Face, rng: Rng, other: np.ndarray):  # type: ignore[no-untyped-def]
    p, d = _pts(face), face.eye_distance
    alpha = blob_shape(image.shape[:2], _target(p, rng, d), d * rng.uniform(0.6, 1.6), rng)
    tex = (
        _stripes(image.shape[:2], rng)
        if rng.random() < 0.4
        else _shaded(image.shape[:2], rng.uniform(0, 255, 3).astype(np.float32), rng)
    )
    return alpha, tex, "object"


def make_bottle(image: np.ndarray, face: Face, rng: Rng, other: np.ndarray):  # type: ignore[no-untyped-def]
    p, d = _pts(face), face.eye_distance
    w = d * rng.uniform(0.45, 0.8)
    centre = p["mouth"] + rng.normal(0, 0.3 * d, 2) + np.array([0, d * rng.uniform(0, 0.8)])
    alpha = rect_shape(
        image.shape[:2],
        centre,
        w,
        d * rng.uniform(1.5, 3.0),
        _face_angle(p) + rng.uniform(-0.5, 0.5),
        radius=w * 0.3,
    )
    tex = _shaded(image.shape[:2], rng.uniform(20, 240, 3).astype(np.float32), rng)
    return alpha, tex, "bottle"


def make_scarf(image: np.ndarray, face: Face, rng: Rng, other: np.ndarray):  # type: ignore[no-untyped-def]
    """Fabric pulled up from below: covers chin, often mouth, sometimes nose (a mask look-alike)."""
    p, d = _pts(face), face.eye_distance
    eyes = (p["left_eye"] + p["right_eye"]) / 2
    down = (p["mouth"] - eyes) / np.linalg.norm(p["mouth"] - eyes)
    side = np.array([-down[1], down[0]])
    top = p["nose"] + down * d * rng.uniform(-0.4, 1.0)
    width = d * rng.uniform(1.6, 2.6)
    curve = d * rng.uniform(-0.25, 0.25)
    pts = [top + side * width / 2 * s + down * curve * (1 - s * s) for s in np.linspace(-1, 1, 9)]
    pts += [top + side * width / 2 + down * d * 3, top - side * width / 2 + down * d * 3]
    alpha = np.zeros(image.shape[:2], np.float32)
    _poly(alpha, np.array(pts))
    roll = rng.random()
    tex = (
        _stripes(image.shape[:2], rng)
        if roll < 0.35
        else _patch_from(other, image.shape[:2], rng)
        if roll < 0.6
        else _shaded(image.shape[:2], rng.uniform(0, 255, 3).astype(np.float32), rng)
    )
    return alpha, tex, "scarf"


def make_lens(image: np.ndarray, face: Face, rng: Rng, other: np.ndarray):  # type: ignore[no-untyped-def]
    """A dark lens, eye patch or card over one eye (sometimes both)."""
    p, d = _pts(face), face.eye_distance
    which = (
        ["left_eye"]
        if rng.random() < 0.45
        else ["right_eye"]
        if rng.random() < 0.8
        else ["left_eye", "right_eye"]
    )
    alpha = np.zeros(image.shape[:2], np.float32)
    for k in which:
        c = p[k] + rng.normal(0, 0.06 * d, 2)
        _ellipse(
            alpha,
            c,
            (d * rng.uniform(0.36, 0.5), d * rng.uniform(0.27, 0.38)),
            np.degrees(_face_angle(p)) + rng.uniform(-15, 15),
        )
    dark = rng.uniform(0, 70) * np.array([1, rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.3)])
    tex = _shaded(image.shape[:2], np.clip(dark, 0, 255).astype(np.float32), rng, noise=3)
    return alpha, tex, "lens"


def _glasses_frame(
    image: np.ndarray, face: Face, rng: Rng, lens_w: float, lens_h: float, rounded: float
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Lens outlines (filled) over both eyes on the face's eye line, and the lens centres."""
    p, d = _pts(face), face.eye_distance
    angle = _face_angle(p) + rng.normal(0, 0.04)
    down = np.array([-np.sin(angle), np.cos(angle)])
    alpha = np.zeros(image.shape[:2], np.float32)
    centres = []
    for k in ("left_eye", "right_eye"):
        c = p[k] + down * d * rng.uniform(-0.02, 0.1) + rng.normal(0, 0.03 * d, 2)
        centres.append(c)
        if rounded > 0.5:
            _ellipse(alpha, c, (lens_w / 2, lens_h / 2), np.degrees(angle))
        else:
            alpha = np.maximum(
                alpha,
                rect_shape(
                    alpha.shape, c, lens_w, lens_h, angle, radius=lens_h * rng.uniform(0.15, 0.45)
                ),
            )
    return alpha, centres


def make_sunglasses(image: np.ndarray, face: Face, rng: Rng, other: np.ndarray):  # type: ignore[no-untyped-def]
    """Dark or mirrored lenses over both eyes with a bridge; round, square or wide frames."""
    d = face.eye_distance
    lens_w, lens_h = d * rng.uniform(0.75, 1.0), d * rng.uniform(0.5, 0.75)
    alpha, centres = _glasses_frame(image, face, rng, lens_w, lens_h, rng.random())
    _capsule(alpha, centres[0], centres[1], d * 0.08)
    if rng.random() < 0.3:  # a lens can be pushed aside or held: then only one eye is covered
        keep = centres[int(rng.integers(2))]
        mask = np.zeros_like(alpha)
        _ellipse(mask, keep, (lens_w * 0.6, lens_h * 0.7), 0)
        alpha *= mask
    dark = rng.uniform(0, 80) * np.array([1, rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.4)])
    tex = _shaded(image.shape[:2], np.clip(dark, 0, 255).astype(np.float32), rng, noise=3)
    if rng.random() < 0.4:  # mirrored / reflective lenses show a darkened scene
        tex = 0.5 * tex + 0.5 * _patch_from(other, image.shape[:2], rng) * rng.uniform(0.3, 0.9)
    return alpha, tex, "sunglasses"


def make_clear_glasses(image: np.ndarray, face: Face, rng: Rng, other: np.ndarray):  # type: ignore[no-untyped-def]
    """Clear glasses: only the frame is opaque, so the eyes stay visible (not blocked). Frames
    from thin metal to thick black plastic (the ones that were read as covered eyes), and
    sometimes a faint glare on the lenses."""
    d = face.eye_distance
    lens_w, lens_h = d * rng.uniform(0.7, 0.95), d * rng.uniform(0.45, 0.7)
    filled, centres = _glasses_frame(image, face, rng, lens_w, lens_h, rng.random())
    k = max(3, int(d * rng.uniform(0.04, 0.16)) | 1)
    rim = filled - cv2.erode(filled, np.ones((k, k), np.uint8))
    _capsule(rim, centres[0], centres[1], d * rng.uniform(0.04, 0.1))
    dark = rng.random() < 0.6
    frame = rng.uniform(0, 45, 3) if dark else rng.uniform(0, 220, 3)
    tex = _shaded(image.shape[:2], frame.astype(np.float32), rng, noise=3)
    alpha = np.clip(rim, 0, 1)
    if rng.random() < 0.3:  # glare: a faint bright sheen inside the lenses, eyes still seen
        lens = np.clip(filled - rim, 0, 1) * rng.uniform(0.1, 0.3)
        glare = _shaded(image.shape[:2], rng.uniform(180, 255, 3).astype(np.float32), rng)
        tex = np.where(rim[..., None] > 0.5, tex, glare)
        alpha = np.maximum(alpha, lens)
    return alpha, tex, "clear_glasses"


def make_hat(image: np.ndarray, face: Face, rng: Rng, other: np.ndarray):  # type: ignore[no-untyped-def]
    """A cap or hat brim: may cover the forehead, sometimes pulled down over the eyes."""
    p, d = _pts(face), face.eye_distance
    eyes = (p["left_eye"] + p["right_eye"]) / 2
    down = (p["mouth"] - eyes) / np.linalg.norm(p["mouth"] - eyes)
    side = np.array([-down[1], down[0]])
    edge = eyes + down * d * rng.uniform(-1.0, 0.1)
    w = d * rng.uniform(2.2, 3.5)
    pts = [edge + side * w / 2 * s - down * d * 0.15 * (s * s) for s in np.linspace(-1, 1, 9)]
    pts += [edge + side * w / 2 - down * d * 3, edge - side * w / 2 - down * d * 3]
    alpha = np.zeros(image.shape[:2], np.float32)
    _poly(alpha, np.array(pts))
    tex = _shaded(image.shape[:2], rng.uniform(0, 255, 3).astype(np.float32), rng)
    return alpha, tex, "hat"


def make_mask(image: np.ndarray, face: Face, rng: Rng, other: np.ndarray):  # type: ignore[no-untyped-def]
    """A face mask of any colour/print, worn properly or pulled down below the nose or mouth."""
    p, d = _pts(face), face.eye_distance
    eyes = (p["left_eye"] + p["right_eye"]) / 2
    down = (p["mouth"] - eyes) / np.linalg.norm(p["mouth"] - eyes)
    side = np.array([-down[1], down[0]])
    top_at = rng.choice([-0.3, 0.2, 0.75]) + rng.normal(0, 0.1)  # bridge / under nose / under mouth
    top = p["nose"] + down * d * top_at
    bottom = p["mouth"] + down * d * rng.uniform(0.7, 1.0)
    w = d * rng.uniform(1.6, 2.0)
    pts = [
        top - side * w * 0.3,
        top + side * w * 0.3,
        top + side * w / 2 + down * d * 0.3,
        bottom + side * w * 0.4,
        bottom + down * d * 0.1,
        bottom - side * w * 0.4,
        top - side * w / 2 + down * d * 0.3,
    ]
    alpha = np.zeros(image.shape[:2], np.float32)
    _poly(alpha, np.array(pts))
    roll = rng.random()
    tex = (
        _stripes(image.shape[:2], rng)
        if roll < 0.2
        else _patch_from(other, image.shape[:2], rng)
        if roll < 0.4
        else _shaded(image.shape[:2], rng.uniform(0, 255, 3).astype(np.float32), rng, noise=4)
    )
    return alpha, tex, "mask"


# --- transplants: real occluders cut from other training photos ---------------------------------
#
# The real sunglasses (about 280 training selfies) and masks are few and sit on a narrow set of
# faces (young women's selfies, East-Asian video frames). A transplant carries the real lens or
# mask of a training photo onto another clean training face: the donor is warped onto the
# target by their keypoints (the kiosk's own detector found both), and only a lens- or
# mask-shaped part of it is pasted, so the silhouette varies while the material (tint,
# reflections, fabric folds, prints) is real.


@dataclass(frozen=True)
class Donors:
    """Training photos to cut real material from: context crops, their keypoints, and which
    of them wear sunglasses, wear a mask, or are clean."""

    images: np.ndarray  # N x H x W x 3
    points: np.ndarray  # N x 6 x 2, in KEYPOINTS order
    sunglasses: np.ndarray  # indices into images
    masks: np.ndarray
    clean: np.ndarray

    def warped(self, pool: np.ndarray, face: Face, shape: tuple[int, int], rng: Rng) -> np.ndarray:
        """A random donor of `pool`, warped so that its eyes, nose and mouth land on `face`'s."""
        j = int(rng.choice(pool))
        src = self.points[j][:4].astype(np.float32)
        dst = np.array([face.keypoints[k] for k in KEYPOINTS[:4]], np.float32)
        m, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
        if m is None:  # degenerate keypoints: fall back to the two eyes
            m = cv2.getAffineTransform(
                np.vstack([src[:2], src[:2].mean(0) + [0, 1]]).astype(np.float32),
                np.vstack([dst[:2], dst[:2].mean(0) + [0, 1]]).astype(np.float32))
        return cv2.warpAffine(self.images[j], m, shape[::-1], flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT).astype(np.float32)


def _recolour(tex: np.ndarray, rng: Rng, keep_hue: float) -> np.ndarray:
    """Another hue and saturation, same shading (a real mask's folds in yellow, a lens in blue)."""
    if rng.random() < keep_hue:
        return tex
    hsv = cv2.cvtColor(np.clip(tex, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(0, 180)) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.3, 1.5) + rng.uniform(0, 120), 0, 255)
    if rng.random() < 0.3:  # a light fabric dyed dark, or a dark one bleached
        hsv[..., 2] = np.clip(hsv[..., 2] * rng.uniform(0.4, 1.3), 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)


def make_real_sunglasses(image: np.ndarray, face: Face, rng: Rng, donors: Donors):  # type: ignore[no-untyped-def]
    """The lenses of a real training sunglasses photo, in a generated frame outline."""
    d = face.eye_distance
    lens_w, lens_h = d * rng.uniform(0.75, 0.98), d * rng.uniform(0.5, 0.78)
    lenses, centres = _glasses_frame(image, face, rng, lens_w, lens_h, rng.random())
    if rng.random() < 0.15:  # one lens only (held, pushed aside)
        keep = np.zeros_like(lenses)
        _ellipse(keep, centres[int(rng.integers(2))], (lens_w * 0.6, lens_h * 0.7), 0)
        lenses *= keep
    tex = _recolour(donors.warped(donors.sunglasses, face, image.shape[:2], rng), rng, 0.6)
    alpha = lenses.copy()
    if rng.random() < 0.6:  # a frame around the lenses: dark, coloured or metal
        k = max(3, int(d * rng.uniform(0.04, 0.12)) | 1)
        rim = lenses - cv2.erode(lenses, np.ones((k, k), np.uint8))
        _capsule(rim, centres[0], centres[1], d * rng.uniform(0.04, 0.09))
        rim = np.clip(rim, 0, 1)
        colour = rng.uniform(0, 50, 3) if rng.random() < 0.6 else rng.uniform(0, 255, 3)
        frame = _shaded(image.shape[:2], colour.astype(np.float32), rng, noise=3)
        tex = np.where(rim[..., None] > 0.5, frame, tex)
        alpha = np.maximum(alpha, rim)
    return alpha, tex, "real_sunglasses"


def make_real_mask(image: np.ndarray, face: Face, rng: Rng, donors: Donors):  # type: ignore[no-untyped-def]
    """The lower face of a real training mask photo in a mask outline, often in another colour
    or with a print."""
    p, d = _pts(face), face.eye_distance
    eyes = (p["left_eye"] + p["right_eye"]) / 2
    down = (p["mouth"] - eyes) / np.linalg.norm(p["mouth"] - eyes)
    side = np.array([-down[1], down[0]])
    top = p["nose"] + down * d * (rng.uniform(-0.5, -0.2) if rng.random() < 0.85 else 0.2)
    bottom = p["mouth"] + down * d * rng.uniform(0.8, 1.1)
    w = d * rng.uniform(1.8, 2.3)
    pts = [top - side * w * 0.3, top + side * w * 0.3, top + side * w / 2 + down * d * 0.3,
           bottom + side * w * 0.4, bottom + down * d * 0.1, bottom - side * w * 0.4,
           top - side * w / 2 + down * d * 0.3]
    alpha = np.zeros(image.shape[:2], np.float32)
    _poly(alpha, np.array(pts))
    tex = _recolour(donors.warped(donors.masks, face, image.shape[:2], rng), rng, 0.4)
    if rng.random() < 0.2:  # a printed fabric: the real folds shade a pattern
        pattern = _stripes(image.shape[:2], rng) if rng.random() < 0.5 else _shaded(
            image.shape[:2], rng.uniform(0, 255, 3).astype(np.float32), rng, noise=30)
        tex = pattern * (tex.mean(axis=2, keepdims=True) / max(float(tex.mean()), 1.0))
    return alpha, tex, "real_mask"


def make_clear_transplant(image: np.ndarray, face: Face, rng: Rng, donors: Donors):  # type: ignore[no-untyped-def]
    """Another clean training face's eyes pasted in a lens outline: a seam around visible eyes
    is not an occlusion (so the sunglasses transplants are not told apart by their seam)."""
    d = face.eye_distance
    lenses, _ = _glasses_frame(image, face, rng, d * rng.uniform(0.75, 0.98),
                               d * rng.uniform(0.5, 0.78), rng.random())
    return lenses, donors.warped(donors.clean, face, image.shape[:2], rng), "clear_transplant"


def make_brim_shadow(image: np.ndarray, face: Face, rng: Rng, donors: Donors | None = None):  # type: ignore[no-untyped-def]
    """A hat whose brim stays above the eyes but shades them: the eyes are darker, still seen.
    The shade is a partial alpha over black: it darkens, never hides, and coverage() does not
    count it (alpha below 0.5); the hat itself covers the forehead as make_hat's does."""
    p, d = _pts(face), face.eye_distance
    eyes = (p["left_eye"] + p["right_eye"]) / 2
    down = (p["mouth"] - eyes) / np.linalg.norm(p["mouth"] - eyes)
    side = np.array([-down[1], down[0]])
    edge = eyes - down * d * rng.uniform(0.45, 0.9)
    w = d * rng.uniform(2.2, 3.5)
    pts = [edge + side * w / 2 * s - down * d * 0.15 * (s * s) for s in np.linspace(-1, 1, 9)]
    pts += [edge + side * w / 2 - down * d * 3, edge - side * w / 2 - down * d * 3]
    hat = np.zeros(image.shape[:2], np.float32)
    _poly(hat, np.array(pts))
    h, w_ = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w_].astype(np.float32)
    below = (xx - edge[0]) * down[0] + (yy - edge[1]) * down[1]  # distance below the brim
    reach = d * rng.uniform(0.8, 1.6)
    shade = np.clip(1 - below / reach, 0, 1) * (below > 0) * rng.uniform(0.25, 0.45)
    alpha = np.maximum(hat, shade.astype(np.float32))
    tex = np.where(hat[..., None] > 0.5,
                   _shaded(image.shape[:2], rng.uniform(0, 255, 3).astype(np.float32), rng), 0.0)
    return alpha, tex.astype(np.float32), "brim_shadow"


def make_eye_shadow(image: np.ndarray, face: Face, rng: Rng, donors: Donors | None = None):  # type: ignore[no-untyped-def]
    """Deep-set or shaded eye sockets (overhead light, dark skin, brows): darker, still open and
    seen. Partial alpha over black that coverage() does not count: a clear-eyed hard negative."""
    p, d = _pts(face), face.eye_distance
    alpha = np.zeros(image.shape[:2], np.float32)
    for k in ("left_eye", "right_eye"):
        _ellipse(alpha, p[k] + rng.normal(0, 0.05 * d, 2) - [0, d * 0.05],
                 (d * rng.uniform(0.3, 0.45), d * rng.uniform(0.2, 0.32)),
                 np.degrees(_face_angle(p)))
    alpha = cv2.GaussianBlur(alpha, (0, 0), d * 0.12) * rng.uniform(0.2, 0.4)
    return alpha, np.zeros((*image.shape[:2], 3), np.float32), "eye_shadow"


# Their regions are clear by definition. (The shades of brim_shadow and eye_shadow need no entry:
# their alpha stays below the 0.5 that coverage() counts.)
NOT_OCCLUDERS = frozenset({"clear_glasses", "clear_transplant"})

TransplantMaker = Callable[[np.ndarray, Face, Rng, Donors], tuple[np.ndarray, np.ndarray, str]]
TRANSPLANTS: dict[str, tuple[TransplantMaker, float]] = {
    "real_sunglasses": (make_real_sunglasses, 3.0),
    "real_mask": (make_real_mask, 2.0),
    "clear_transplant": (make_clear_transplant, 1.0),
}
# occluders that leave nose and mouth alone: the ones also put on real mask photos
EYE_KINDS = frozenset({"sunglasses", "real_sunglasses", "clear_glasses", "lens", "hair",
                       "eye_shadow", "brim_shadow", "clear_transplant"})

MAKERS: dict[str, tuple[Maker, float]] = {
    "hand": (make_hand, 3.0),
    "phone": (make_phone, 1.0),
    "paper": (make_paper, 1.0),
    "patch": (make_patch, 1.5),
    "object": (make_object, 1.0),
    "bottle": (make_bottle, 0.7),
    "scarf": (make_scarf, 1.0),
    "hair": (
        lambda im, f, r, o: (
            hair_shape(im.shape[:2], _pts(f), f.eye_distance, r),
            _shaded(im.shape[:2], r.uniform(5, 120, 3).astype(np.float32), r, 8),
            "hair",
        ),
        1.0,
    ),
    "lens": (make_lens, 1.5),
    "hat": (make_hat, 1.0),
    "mask": (make_mask, 1.0),
    "sunglasses": (make_sunglasses, 2.0),
    "clear_glasses": (make_clear_glasses, 1.2),
    "brim_shadow": (make_brim_shadow, 1.0),
    "eye_shadow": (make_eye_shadow, 0.8),
}


def composite(image: np.ndarray, alpha: np.ndarray, texture: np.ndarray, rng: Rng) -> np.ndarray:
    """Blend with soft edges, a contact shadow, the scene's brightness, and focus blur."""
    img = image.astype(np.float32)
    feather = rng.uniform(0.3, 1.5)
    a = cv2.GaussianBlur(alpha, (0, 0), feather)[..., None]
    if rng.random() < 0.6:  # occluders close to the face cast a soft shadow on it
        shift = rng.normal(0, 2, 2)
        m = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
        shadow = cv2.GaussianBlur(cv2.warpAffine(alpha, m, alpha.shape[::-1]), (0, 0), 3)[..., None]
        img = img * (1 - rng.uniform(0.1, 0.4) * shadow)
    # match the lighting of the photo partly, so bright occluders in dark scenes stay plausible
    tex = texture * (0.5 + 0.5 * img.mean() / max(texture.mean(), 1.0)) ** rng.uniform(0.3, 1.0)
    if rng.random() < 0.5:
        tex = cv2.GaussianBlur(tex, (0, 0), rng.uniform(0.4, 1.2))
    return np.clip(img * (1 - a) + tex * a, 0, 255).astype(np.uint8)


def occlude(
    image: np.ndarray,
    face: Face,
    rng: Rng,
    other: np.ndarray,
    kind: str | None = None,
    donors: Donors | None = None,
    kinds: frozenset[str] | None = None,
) -> Occluded:
    """One random occluder on the face; `other` is another real photo to cut textures from,
    `donors` (optional) the training photos transplants cut real lenses and masks from,
    `kinds` (optional) the occluders to choose from."""
    weights = {n: w for n, (_, w) in MAKERS.items()}
    if donors is not None:
        weights.update({n: w for n, (_, w) in TRANSPLANTS.items()})
    if kinds is not None:
        weights = {n: w for n, w in weights.items() if n in kinds}
    if kind is None:
        names = list(weights)
        w = np.array([weights[n] for n in names])
        kind = str(rng.choice(names, p=w / w.sum()))
    if kind in TRANSPLANTS:
        if donors is None:
            raise ValueError(f"occluder '{kind}' needs donors")
        alpha, tex, name = TRANSPLANTS[kind][0](image, face, rng, donors)
    else:
        alpha, tex, name = MAKERS[kind][0](image, face, rng, other)
    # Glasses frames are not occluders: measured by area, a frame around a lens covered 15-40%
    # of the eye box, so 64% of generated clear glasses got an *unknown* eye label (ignored
    # by the loss) and the hard negative taught little. Their regions are clear by definition.
    cov = {r: 0.0 for r in REGIONS} if name in NOT_OCCLUDERS else coverage(alpha, face)
    return Occluded(composite(image, alpha, tex, rng), cov, name)
