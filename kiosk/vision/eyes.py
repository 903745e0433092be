"""Eye state per face: both EYE_STATE crops through the int8 eye-state model -> Eyes."""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.domain import Eyes, Face
from kiosk.errors import ModelError
from kiosk.vision.crops import EYE_STATE, crop
from kiosk.vision.runtime import TFLiteModel

_ORDER = ("left_eye", "right_eye")


class EyeStateModel:
    """p(closed) of each eye of a face, subject's point of view."""

    def __init__(self, model: TFLiteModel) -> None:
        shape = model.input_shape
        if len(shape) != 4 or shape[0] not in (1, 2) or shape[3] not in (1, 3):
            raise ModelError(f"eye-state model input {shape} is not [1|2, H, W, 1|3]")
        out = EYE_STATE["left_eye"].out
        if (shape[2], shape[1]) != out:
            raise ModelError(f"eye-state model input {shape} does not match the crop size {out}")
        self.model = model
        self._grey = shape[3] == 1
        # Filled in place every call: no per-frame allocation of the model input.
        self._batch = np.empty((2, *shape[1:]), np.uint8)

    def predict(self, image: np.ndarray, face: Face) -> Eyes:
        """Crop both eyes of `face` from an RGB (or greyscale) uint8 frame and classify."""
        for i, name in enumerate(_ORDER):
            patch = crop(image, face, EYE_STATE[name])
            if self._grey and patch.ndim == 3:
                patch = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY)
            elif not self._grey and patch.ndim == 2:
                patch = cv2.cvtColor(patch, cv2.COLOR_GRAY2RGB)
            self._batch[i] = patch.reshape(self._batch.shape[1:])
        if self.model.input_shape[0] == 2:
            p = self.model.run(self._batch)[0].reshape(-1)
        else:
            p = np.concatenate([self.model.run(self._batch[i : i + 1])[0].reshape(-1)
                                for i in range(2)])
        return Eyes(left_closed=float(p[0]), right_closed=float(p[1]))
