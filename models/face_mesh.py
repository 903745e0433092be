"""Eye opening from the MediaPipe face mesh (468 points), a blink option measured and rejected.

The blink benchmark measured the mesh's eyelid opening as a second blink signal fused with
the eye-state model (models/blink.md): it helped a little on ZJU and let moving printed
photos blink, so the kiosk does not run it. This module keeps the measurement
reproducible: `face_mesh()` fetches `face_landmark.tflite` from the same pinned mediapipe
wheel as the face detector into models/.cache/ (sha256-checked, never committed).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from kiosk.domain import Face
from kiosk.errors import ModelError
from kiosk.vision.manifest import ModelSpec
from kiosk.vision.runtime import TFLiteModel

CACHE = Path(__file__).with_name(".cache")
SPEC = ModelSpec(
    name="face_landmarks", file="face_landmark.tflite",
    sha256="1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    input_shape=(1, 192, 192, 3), input_dtype="float32",
    extra={"licence": "Apache-2.0 (MediaPipe face mesh)", "fetch": {
        "wheel": "mediapipe==0.10.21", "platform": "manylinux_2_28_x86_64", "python": "3.11",
        "member": "mediapipe/modules/face_landmark/face_landmark.tflite"}},
)

SIZE = 192
ROI_SCALE = 1.5  # MediaPipe's face ROI: the detector box, square on its long side, x1.5

# Mesh indices (MediaPipe canonical face mesh), subject's point of view: two eye corners,
# then three upper-lid points and the three lower-lid points facing them.
EYE_POINTS = {
    "left_eye": ((362, 263), (385, 386, 387), (380, 374, 373)),
    "right_eye": ((33, 133), (160, 159, 158), (144, 145, 153)),
}


def roi_matrix(face: Face) -> np.ndarray:
    """2x3 affine from model-input pixel (u, v) to image pixel: the face box centre, rotated
    upright on the eye line, square side = long box side x ROI_SCALE."""
    (rx, ry), (lx, ly) = face.keypoints["right_eye"], face.keypoints["left_eye"]
    angle = np.arctan2(ly - ry, lx - rx)  # the subject's right eye is on the image's left
    x, y, w, h = face.box
    k = max(w, h) * ROI_SCALE / SIZE
    c, s = np.cos(angle) * k, np.sin(angle) * k
    half = SIZE / 2
    return np.array([[c, -s, x + w / 2 - (c - s) * half],
                     [s, c, y + h / 2 - (s + c) * half]])


def opening(points: np.ndarray) -> tuple[float, float]:
    """Mean eyelid gap / corner distance of the left and right eye, from mesh points [468, 2+]
    (about 0.3 open; the mesh's lids close only part of the way, to about 0.2)."""
    ratios = []
    for corners, upper, lower in EYE_POINTS.values():
        width = float(np.hypot(*(points[corners[0], :2] - points[corners[1], :2])))
        gaps = np.hypot(*(points[list(upper), :2] - points[list(lower), :2]).T)
        ratios.append(float(gaps.mean()) / max(width, 1e-6))
    return ratios[0], ratios[1]


class FaceMesh:
    """The MediaPipe face-landmark model on the detector's face: eye opening per eye."""

    def __init__(self, model: TFLiteModel) -> None:
        if model.input_shape != (1, SIZE, SIZE, 3) or model.spec.input_dtype != "float32":
            raise ModelError(f"face-mesh model input {model.input_shape} is not [1,192,192,3]")
        sizes = sorted(int(np.prod(s)) for s in model.output_shapes)
        if sizes != [1, 468 * 3]:
            raise ModelError(f"face-mesh model outputs {sizes} are not 468 x 3 points + a score")
        self.model = model
        self._points = model.output_shapes.index(
            next(s for s in model.output_shapes if int(np.prod(s)) == 468 * 3))
        self._input = np.empty((1, SIZE, SIZE, 3), np.float32)

    def points(self, image: np.ndarray, face: Face) -> np.ndarray:
        """468 mesh points [x, y, z] in model-input pixels (upright face, 192 x 192)."""
        patch = cv2.warpAffine(image, roi_matrix(face), (SIZE, SIZE),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REPLICATE)
        if patch.ndim == 2:
            patch = cv2.cvtColor(patch, cv2.COLOR_GRAY2RGB)
        np.multiply(patch, 1 / 255, out=self._input[0], casting="unsafe")  # range [0, 1]
        return self.model.run_raw(self._input)[self._points].reshape(468, 3)



def face_mesh() -> FaceMesh:
    """The face mesh, fetched into models/.cache on first use."""
    from kiosk.vision.fetch import install

    CACHE.mkdir(parents=True, exist_ok=True)
    install(SPEC, CACHE)
    return FaceMesh(TFLiteModel(SPEC, CACHE))
