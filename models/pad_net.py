"""MiniFASNet (Minivision's passive anti-spoofing net) written in Keras, built from a state dict.

The network is a MobileFaceNet-style stack: a strided 3x3 stem, a depthwise 3x3, then
inverted-bottleneck blocks (1x1 expand + PReLU, depthwise 3x3 + PReLU, 1x1 linear
projection) in four stages separated by stride-2 blocks, a 1x1 conv to 512 channels, a
depthwise conv over the whole 5x5 map, a 512->128 linear layer with batch norm and a
128->3 classifier (class 1 = live). The SE variant puts a squeeze-excitation gate on the
last block of each residual stage. Channel counts, block counts and SE gates are read from
the weights' shapes, so one builder serves both published checkpoints.

Differences from the upstream definition, none of which changes the function:
- input RGB instead of BGR (the kiosk's frames are RGB): the stem's input channels are
  swapped in the weights, so no per-frame channel flip is needed; pixels stay 0..255;
- PReLU is written max(x, a*x), equal to it for every slope a <= 1 (all published slopes are
  in -0.36..0.59; `build` checks). LiteRT's XNNPACK delegate has no int8 PReLU, so the int8
  model with PReLU ran its 33 activations on reference kernels: 16.5 ms per crop here,
  against 0.64 ms with MUL + MAXIMUM, which XNNPACK runs;
- PyTorch pads strided convs symmetrically, so padding is explicit here (Keras `same` pads
  stride-2 convs on the bottom/right only, which shifts every feature map by a pixel).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

BN_EPS = 1e-5  # PyTorch's BatchNorm default
STAGES = ("conv_3", "conv_4", "conv_5")  # residual stages, after conv_23 / conv_34 / conv_45
INPUT_SIZE = 80


def _prelu_layer(tf: Any) -> Any:
    class PReLUMax(tf.keras.layers.Layer):  # type: ignore[misc,name-defined]
        """PReLU as max(x, a*x): the same function for slopes a <= 1, and int8-friendly."""

        def build(self, shape: Any) -> None:
            self.alpha = self.add_weight(shape=(1, 1, shape[-1]), name="alpha")

        def call(self, x: Any) -> Any:
            return tf.maximum(x, x * self.alpha)

    return PReLUMax


def strip_prefix(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Weights saved from nn.DataParallel carry a `module.` prefix."""
    return {k.removeprefix("module."): v for k, v in state.items()}


def _blocks(state: dict[str, np.ndarray], stage: str) -> list[str]:
    found = {int(m.group(1)) for k in state if (m := re.match(rf"{stage}\.model\.(\d+)\.", k))}
    return [f"{stage}.model.{i}" for i in sorted(found)]


def build(tf: Any, state: dict[str, np.ndarray], name: str = "minifasnet", rgb: bool = True
          ) -> Any:
    """A Keras model (input [N, 80, 80, 3] float RGB (or BGR) 0..255, output softmax [N, 3])
    with the weights of `state` (a PyTorch state dict as numpy arrays) already set."""
    layers = tf.keras.layers
    prelu_layer = _prelu_layer(tf)
    state = strip_prefix(state)
    slopes = [v for k, v in state.items() if k.endswith("prelu.weight")]
    if max(float(v.max()) for v in slopes) > 1:
        raise ValueError("a PReLU slope above 1: max(x, a*x) would not be PReLU")
    if rgb:
        state["conv1.conv.weight"] = state["conv1.conv.weight"][:, ::-1]
    assigned: list[tuple[Any, list[np.ndarray]]] = []

    def bn(key: str) -> Any:
        layer = layers.BatchNormalization(epsilon=BN_EPS, name=key.replace(".", "_"))
        assigned.append((layer, [state[f"{key}.{p}"] for p in
                                 ("weight", "bias", "running_mean", "running_var")]))
        return layer

    def conv(x: Any, prefix: str, stride: int = 1, act: bool = True) -> Any:
        """Conv (or depthwise conv when the weight has one input channel) + BN (+ PReLU)."""
        w = state[f"{prefix}.conv.weight"]  # (out, in/groups, kh, kw)
        out_c, per_group, k, _ = w.shape
        depthwise = per_group == 1 and out_c == x.shape[-1] and out_c > 1
        pad = k // 2 if k == 3 else 0  # 3x3 convs pad 1; 1x1 and the final 5x5 pad none
        if pad:
            x = layers.ZeroPadding2D(pad)(x)
        tag = prefix.replace(".", "_")
        if depthwise:
            layer = layers.DepthwiseConv2D(k, stride, use_bias=False, name=tag)
            kernel = w.transpose(2, 3, 0, 1)  # (kh, kw, channels, 1)
        else:
            layer = layers.Conv2D(out_c, k, stride, use_bias=False, name=tag)
            kernel = w.transpose(2, 3, 1, 0)  # (kh, kw, in, out)
        assigned.append((layer, [kernel]))
        x = bn(f"{prefix}.bn")(layer(x))
        if act:
            prelu = prelu_layer(name=f"{tag}_prelu")
            assigned.append((prelu, [state[f"{prefix}.prelu.weight"].reshape(1, 1, -1)]))
            x = prelu(x)
        return x

    def se_gate(x: Any, prefix: str) -> Any:
        s = layers.GlobalAveragePooling2D(keepdims=True)(x)
        for i, act in ((1, "relu"), (2, "sigmoid")):
            w = state[f"{prefix}.fc{i}.weight"]
            tag = f"{prefix}_fc{i}".replace(".", "_")
            fc = layers.Conv2D(w.shape[0], 1, use_bias=False, name=tag)
            assigned.append((fc, [w.transpose(2, 3, 1, 0)]))
            s = layers.Activation(act)(bn(f"{prefix}.bn{i}")(fc(s)))
        return layers.Multiply()([x, s])

    def bottleneck(x: Any, prefix: str, stride: int, residual: bool) -> Any:
        y = conv(x, f"{prefix}.conv")
        y = conv(y, f"{prefix}.conv_dw", stride=stride)
        y = conv(y, f"{prefix}.project", act=False)
        if f"{prefix}.se_module.fc1.weight" in state:
            y = se_gate(y, f"{prefix}.se_module")
        return layers.Add()([x, y]) if residual else y

    inp = tf.keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="rgb" if rgb else "bgr")
    x = conv(inp, "conv1", stride=2)
    x = conv(x, "conv2_dw")
    for down, stage in zip(("conv_23", "conv_34", "conv_45"), STAGES, strict=True):
        x = bottleneck(x, down, stride=2, residual=False)
        for block in _blocks(state, stage):
            x = bottleneck(x, block, stride=1, residual=True)
    x = conv(x, "conv_6_sep")
    x = conv(x, "conv_6_dw", act=False)  # depthwise over the whole 5x5 map -> 1x1x512
    x = layers.Flatten()(x)
    linear = layers.Dense(state["linear.weight"].shape[0], use_bias=False, name="linear")
    assigned.append((linear, [state["linear.weight"].T]))
    x = bn("bn")(linear(x))
    prob = layers.Dense(state["prob.weight"].shape[0], use_bias=False, name="prob")
    assigned.append((prob, [state["prob.weight"].T]))
    out = layers.Softmax(name="softmax")(prob(x))
    model = tf.keras.Model(inp, out, name=name)
    for layer, weights in assigned:
        layer.set_weights([np.asarray(w, np.float32) for w in weights])
    return model


def load_state(path: Any) -> dict[str, np.ndarray]:
    """A PyTorch state dict file (legacy pickle) as numpy arrays; needs torch (train extra)."""
    import torch

    state = torch.load(str(path), map_location="cpu", weights_only=True)
    return {k: v.numpy() for k, v in state.items() if not k.endswith("num_batches_tracked")}
