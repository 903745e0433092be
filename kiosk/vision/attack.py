"""Presentation-attack model: p(attack) of a face from one int8 MiniFASNet context crop."""

from __future__ import annotations

import numpy as np

from kiosk.domain import Face
from kiosk.errors import ModelError
from kiosk.vision.crops import ContextCrop, context_crop
from kiosk.vision.runtime import TFLiteModel

MODEL_NAME = "presentation_attack"


class AttackModel:
    """MiniFASNet (live / print / replay classes) on the face with its surroundings."""

    def __init__(self, model: TFLiteModel) -> None:
        extra = model.spec.extra
        try:
            self.crop = ContextCrop(float(extra["scale"]))
            self.live_class = int(extra["live_class"])
        except (KeyError, TypeError, ValueError) as e:
            raise ModelError(f"model '{model.spec.name}': manifest needs a numeric 'scale' and "
                             f"'live_class' ({e})") from e
        w, h = self.crop.out
        if model.input_shape != (1, h, w, 3):
            raise ModelError(f"model '{model.spec.name}' takes {model.input_shape}, the "
                             f"context crop is {w}x{h}x3")
        if model.input_quant.dtype != np.uint8 or (model.input_quant.scale,
                                                   model.input_quant.zero_point) != (1.0, 0):
            raise ModelError(f"model '{model.spec.name}' must take raw uint8 pixels "
                             "(scale 1, zero point 0)")
        self.model = model

    def predict_crop(self, crop: np.ndarray) -> float:
        """p(attack) = 1 - p(live) for one RGB uint8 context crop."""
        p = self.model.run(crop[None])[0].reshape(-1)  # uint8 in: quantising is the identity
        return float(np.clip(1.0 - p[self.live_class], 0.0, 1.0))

    def predict(self, image: np.ndarray, face: Face) -> float:
        return self.predict_crop(context_crop(image, face, self.crop))
