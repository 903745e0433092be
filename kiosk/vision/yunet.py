"""YuNet face detector (ONNX through OpenCV's FaceDetectorYN), searched in a window of the frame."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from kiosk.domain import Box, Face
from kiosk.errors import ModelError
from kiosk.vision.manifest import ModelSpec, verify

NAME = "yunet"
TOP_K = 20
# YuNet's landmarks are 5 points: eyes, nose tip, mouth corners. Its row layout is
# x, y, w, h, then (x, y) of: the eye on the image's left, the eye on the image's right, the
# nose, the mouth corner on the image's left, the one on the image's right, then the score.
# The image's left eye is the subject's right eye in an unmirrored frame (tests check it on
# real photos, against BlazeFace).
# BlazeFace's mouth point sits on the lips' centre and it has ear (tragion) points; YuNet has
# neither, so they are placed at BlazeFace's mean position in the face frame (x along the eye
# line, y down, unit = eye distance), measured on faces both detectors found
# (models/detector_eval.py prints them; left/right made symmetric). They only draw and label:
# no crop a model sees depends on them (crops.FACE and the eye crops hang on the eyes).
MOUTH_FROM_CORNERS = (0.0, 0.09)
LEFT_EAR = (1.02, 0.22)
RIGHT_EAR = (-1.02, 0.22)


class YuNet:
    """Finds faces in an RGB frame, or in a square window of it scaled to `size` pixels."""

    def __init__(self, spec: ModelSpec, models_dir: Path, size: int = 128,
                 min_score: float = 0.6, nms_iou: float = 0.3, threads: int | None = None
                 ) -> None:
        if threads is not None:
            # OpenCV's DNN runs on OpenCV's one process-wide pool: size it like the
            # interpreters' (`models.threads`), so `kiosk bench --threads 1` means one thread
            cv2.setNumThreads(threads)
        self.spec = spec
        self.path = verify(spec, models_dir)
        self.size = size
        self.min_score = min_score
        try:
            self._net = cv2.FaceDetectorYN.create(str(self.path), "", (size, size), min_score,
                                                  nms_iou, TOP_K)
        except cv2.error as e:
            raise ModelError(f"model '{spec.name}' at {self.path} cannot be loaded: {e}") from e
        self._input = (size, size)

    def detect(self, image: np.ndarray, window: Box | None = None,
               size: int | None = None) -> list[Face]:
        """Faces in `window` (x, y, w, h in frame pixels; the whole frame if None), in frame
        pixels. The window is scaled, keeping its aspect, so that its longer side is `size`
        (default: the detector's) pixels; parts outside the frame are black, like the
        BlazeFace letterbox."""
        h, w = image.shape[:2]
        wx, wy, ww, wh = window if window is not None else (0, 0, w, h)
        x0, y0 = int(np.floor(wx)), int(np.floor(wy))
        x1, y1 = int(np.ceil(wx + ww)), int(np.ceil(wy + wh))
        ix0, iy0, ix1, iy1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if ix1 - ix0 < 8 or iy1 - iy0 < 8:
            return []
        scale = (size or self.size) / max(x1 - x0, y1 - y0)
        out = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        tw, th = max(1, round((ix1 - ix0) * scale)), max(1, round((iy1 - iy0) * scale))
        small = cv2.resize(image[iy0:iy1, ix0:ix1], (tw, th),
                           interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        px, py = min(round((ix0 - x0) * scale), out[0] - tw), min(round((iy0 - y0) * scale),
                                                                   out[1] - th)
        canvas = np.zeros((out[1], out[0], 3), np.uint8)
        # YuNet was trained on BGR input
        canvas[py:py + th, px:px + tw] = small[..., ::-1]
        if out != self._input:
            self._net.setInputSize(out)
            self._input = out
        _, rows = self._net.detect(canvas)
        if rows is None:
            return []
        # input pixel q -> frame pixel (q - pad) * step + in-frame origin
        step = ((ix1 - ix0) / tw, (iy1 - iy0) / th)
        origin = (ix0 - px * step[0], iy0 - py * step[1])
        return [to_face(np.asarray(r), step, origin) for r in rows]


def to_face(row: np.ndarray, step: tuple[float, float], origin: tuple[float, float]) -> Face:
    """One FaceDetectorYN row (input pixels) as a Face in frame pixels, subject's left/right."""
    v = row.astype(np.float64)
    sx, sy = step
    pts = v[4:14].reshape(5, 2) * step + origin
    right_eye, left_eye, nose, mouth_r, mouth_l = pts  # image left first = subject's right
    box = (v[0] * sx + origin[0], v[1] * sy + origin[1], v[2] * sx, v[3] * sy)
    ex = left_eye - right_eye
    d = max(float(np.hypot(*ex)), 1e-3)
    ex = ex / d
    ey = np.array([-ex[1], ex[0]])
    mid = (left_eye + right_eye) / 2

    def at(p: tuple[float, float], origin: np.ndarray = mid) -> tuple[float, float]:
        q = origin + d * (p[0] * ex + p[1] * ey)
        return (float(q[0]), float(q[1]))

    return Face(
        box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
        score=float(v[14]),
        keypoints={
            "left_eye": (float(left_eye[0]), float(left_eye[1])),
            "right_eye": (float(right_eye[0]), float(right_eye[1])),
            "nose": (float(nose[0]), float(nose[1])),
            "mouth": at(MOUTH_FROM_CORNERS, (mouth_l + mouth_r) / 2),
            "left_ear": at(LEFT_EAR),
            "right_ear": at(RIGHT_EAR),
        },
        detector=NAME,
    )
