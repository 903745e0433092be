"""Image pieces of the embedded demo: a virtual camera over real footage, a worn face mask, a
tablet held up to the camera. Pure functions on BGR/RGB uint8 frames (channel order kept).

What is composited, and why (kiosk/assets/NOTICE.md says the same):
- the *camera move*: the footage is a fixed close-up, so a visitor arriving off-centre is a
  crop window panning over it; left of the real frame, its own empty background (a static
  wooden wall) is mirrored to give the window room to start on an empty scene;
- the *mask*: drawn onto the real frames from the face's keypoints (no shippable footage shows
  a person putting one on);
- the *tablet's sway*: the real photo of a tablet replay attack is one still, so it is moved a
  little as a hand would hold it.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

# The demo camera's frame (w, h): the footage's full height, and the width that lets the crop
# centre the visitor (her face sits right of the source's centre); native pixels, no scaling.
SIZE = (400, 360)


def extend_left(frame: np.ndarray, empty_cols: int, width: int) -> np.ndarray:
    """`frame` with `width` more columns on the left: its own empty background (the first
    `empty_cols` columns, which never show the person) mirrored again and again."""
    wall = frame[:, :empty_cols]
    tiles: list[np.ndarray] = []
    flip = True
    while sum(t.shape[1] for t in tiles) < width:
        tiles.append(wall[:, ::-1] if flip else wall)
        flip = not flip
    pad = np.concatenate(tiles[::-1], axis=1)[:, -width:]
    return np.concatenate([pad, frame], axis=1)


def view(frame: np.ndarray, x0: float) -> np.ndarray:
    """The camera's view: the SIZE window of `frame` starting at column `x0` (kept inside)."""
    w = frame.shape[1]
    x = int(round(min(max(x0, 0), w - SIZE[0])))
    return frame[:SIZE[1], x:x + SIZE[0]].copy()


def _bezier(a: np.ndarray, b: np.ndarray, c: np.ndarray, n: int = 24) -> np.ndarray:
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * a + 2 * (1 - t) * t * b + t ** 2 * c


def wear_mask(frame: np.ndarray, keypoints: Mapping[str, tuple[float, float]],
              lift: float) -> np.ndarray:
    """A pleated surgical mask drawn over nose and mouth; `lift` 0..1 is how far it has been
    pulled up into place (0: below the chin, out of the picture's way; 1: worn)."""
    if lift <= 0:
        return frame
    p = {k: np.asarray(v, np.float64) for k, v in keypoints.items()}
    d = float(np.linalg.norm(p["left_eye"] - p["right_eye"]))
    eyes = (p["left_eye"] + p["right_eye"]) / 2
    down = (p["mouth"] - eyes) / max(1e-6, float(np.linalg.norm(p["mouth"] - eyes)))
    side = (p["left_eye"] - p["right_eye"]) / max(1e-6, d)
    shift = down * d * 1.8 * (1 - min(1.0, lift))
    top = p["nose"] - down * d * 0.28 + shift
    bottom = p["mouth"] + down * d * 0.85 + shift
    ear_l, ear_r = p["left_ear"] + shift, p["right_ear"] + shift
    tl = ear_r + (top - ear_r) * 0.12 + down * d * 0.05
    tr = ear_l + (top - ear_l) * 0.12 + down * d * 0.05
    bl, br = tl + down * d * 0.95 + side * d * 0.18, tr + down * d * 0.95 - side * d * 0.18
    outline = np.vstack([_bezier(tl, top - down * d * 0.08, tr),
                         _bezier(tr, tr + down * d * 0.5, br),
                         _bezier(br, bottom + down * d * 0.15, bl),
                         _bezier(bl, tl + down * d * 0.5, tl)])
    h, w = frame.shape[:2]
    alpha = np.zeros((h, w), np.float32)
    cv2.fillPoly(alpha, [np.round(outline * 4).astype(np.int32)], (1.0,), cv2.LINE_AA, 2)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 0.8)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    across = ((xs - top[0]) * down[0] + (ys - top[1]) * down[1]) / max(
        1.0, float(np.linalg.norm(bottom - top)))
    lateral = ((xs - top[0]) * side[0] + (ys - top[1]) * side[1]) / d
    shade = 1.0 - 0.2 * np.clip(np.abs(lateral), 0, 1.2) ** 2  # the cloth curves round the face
    for k in (0.3, 0.5, 0.7):  # three pleats: a fold's shadow under a lit edge
        shade -= 0.12 * np.exp(-(((across - k) / 0.025) ** 2))
        shade += 0.05 * np.exp(-(((across - k + 0.05) / 0.03) ** 2))
    # a pale blue, in the scene's own light and colour (the footage is graded warm and muted)
    face = frame[int(eyes[1]):int(p["mouth"][1]) + 1, int(eyes[0] - d / 2):int(eyes[0] + d / 2)]
    light = float(face.mean()) / 150.0 if face.size else 1.0
    grey = float(np.mean(MASK_COLOUR))
    colour = (np.array(MASK_COLOUR, np.float32) * 0.45 + grey * 0.55) * light
    # the bound edge of the cloth: a slightly darker hem all round
    hem = alpha - cv2.erode(alpha, np.ones((3, 3), np.uint8), iterations=max(1, round(d * 0.04)))
    shade -= 0.12 * np.clip(hem, 0, 1)
    cloth = shade[..., None] * colour
    a = alpha[..., None]
    return np.clip(frame.astype(np.float32) * (1 - a) + cloth * a, 0, 255).astype(np.uint8)


MASK_COLOUR = (226, 208, 168)  # BGR: surgical-mask blue (channel order is the caller's)


def held_up(photo: np.ndarray, t: float, centre_y: float = 0.5) -> np.ndarray:
    """A photo held up in front of the camera: it fills the frame (a crop to SIZE's aspect,
    centred at height `centre_y` of the photo) and sways a little, as a hand holding a tablet
    would (a few pixels, about a degree)."""
    h, w = photo.shape[:2]
    aspect = SIZE[0] / SIZE[1]
    crop_w = min(w, round(h * aspect))
    crop_h = min(h, round(crop_w / aspect))
    x0 = (w - crop_w) // 2
    y0 = int(min(max(round(centre_y * h - crop_h / 2), 0), h - crop_h))
    base = cv2.resize(photo[y0:y0 + crop_h, x0:x0 + crop_w], SIZE,
                      interpolation=cv2.INTER_CUBIC)
    angle = 0.8 * np.sin(2 * np.pi * 0.23 * t) + 0.4 * np.sin(2 * np.pi * 0.61 * t + 1.0)
    dx = 6 * np.sin(2 * np.pi * 0.17 * t + 0.5) + 2 * np.sin(2 * np.pi * 0.9 * t)
    dy = 4 * np.sin(2 * np.pi * 0.29 * t + 2.0)
    m = cv2.getRotationMatrix2D((SIZE[0] / 2, SIZE[1] / 2), float(angle), 1.03)
    m[0, 2] += float(dx)
    m[1, 2] += float(dy)
    return cv2.warpAffine(base, m, SIZE, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
