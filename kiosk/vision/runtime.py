"""The one place that loads TFLite models: LiteRT first, tflite-runtime as a fallback."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.errors import ModelError, RuntimeMissingError
from kiosk.vision.manifest import ModelSpec, verify

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install ai-edge-litert==2.3.0 (or tflite-runtime on older systems)"


def _interpreter_class() -> tuple[Any, str, str]:
    try:
        from ai_edge_litert import __version__ as version
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai-edge-litert", version
    except ImportError:
        pass
    try:
        from tflite_runtime import __version__ as version
        from tflite_runtime.interpreter import Interpreter

        return Interpreter, "tflite-runtime", version
    except ImportError as e:
        raise RuntimeMissingError(f"no TFLite runtime is installed: {INSTALL_HINT}") from e


def runtime_info() -> dict[str, str]:
    _, name, version = _interpreter_class()
    return {"name": name, "version": version}


@dataclass(frozen=True)
class Quant:
    scale: float
    zero_point: int
    dtype: np.dtype

    def quantize(self, x: np.ndarray) -> np.ndarray:
        if self.scale == 0:
            return x.astype(self.dtype)
        info = np.iinfo(self.dtype)
        q = np.round(x / self.scale + self.zero_point)
        return np.clip(q, info.min, info.max).astype(self.dtype)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        if self.scale == 0:
            return q.astype(np.float32)
        return (q.astype(np.float32) - self.zero_point) * self.scale


def _quant(detail: dict[str, Any]) -> Quant:
    scale, zero_point = detail["quantization"]
    return Quant(float(scale), int(zero_point), np.dtype(detail["dtype"]))


class TFLiteModel:
    """A loaded, verified model with its interpreter created once at start-up."""

    def __init__(self, spec: ModelSpec, models_dir: Path, num_threads: int = 1) -> None:
        path = verify(spec, models_dir)
        interpreter_cls, self.runtime, self.runtime_version = _interpreter_class()
        self.spec = spec
        self.path = path
        try:
            self._interp = interpreter_cls(model_path=str(path), num_threads=num_threads)
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            raise ModelError(f"model '{spec.name}' at {path} cannot be loaded: {e}") from e
        self._in = self._interp.get_input_details()[0]
        self._outs = self._interp.get_output_details()
        shape = tuple(int(v) for v in self._in["shape"])
        if shape != spec.input_shape or np.dtype(self._in["dtype"]).name != spec.input_dtype:
            raise ModelError(
                f"model '{spec.name}' takes {shape} {np.dtype(self._in['dtype']).name}, "
                f"the manifest says {spec.input_shape} {spec.input_dtype}"
            )
        self.input_quant = _quant(self._in)
        self.output_names = [o["name"] for o in self._outs]
        self.output_shapes = [tuple(int(v) for v in o["shape"]) for o in self._outs]
        log.debug("loaded model %s (%s %s)", spec.name, self.runtime, self.runtime_version)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.spec.input_shape

    def run_raw(self, x: np.ndarray) -> list[np.ndarray]:
        """Run on an input already in the model's dtype; outputs in the model's order."""
        self._interp.set_tensor(self._in["index"], x)
        self._interp.invoke()
        return [self._interp.get_tensor(o["index"]) for o in self._outs]

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        """Run on float input (quantised here if the model is int8/uint8); float outputs."""
        if self.input_quant.dtype != np.float32:
            x = self.input_quant.quantize(x)
        outs = self.run_raw(x.astype(self.input_quant.dtype, copy=False))
        return [_quant(o).dequantize(v) for o, v in zip(self._outs, outs, strict=True)]
