"""Conversion to QKeras with per-layer bit widths, and quantisation-aware fine-tuning.

Weights and biases use ``quantized_bits(bits, integer, alpha=1)``; hidden activations
use ``quantized_relu(bits, integer)``. The integer bits come from the observed ranges
(largest weight magnitude; 99.9th percentile of each activation on the training set),
so narrow widths spend their bits on the fraction. hls4ml reads these quantizers into
the matching ``ap_fixed`` types.
"""

from __future__ import annotations

import math

import numpy as np

from .kerasenv import keras  # first: QKeras must see tf_keras

from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu  # noqa: E402

from .data import Split
from .models import weight_layers
from .training import KeepZeros, fit


def per_layer(bits, count: int, what: str) -> list[int]:
    """A uniform width or a per-layer list, checked against the layer count."""
    if isinstance(bits, (list, tuple)):
        if len(bits) != count:
            raise ValueError(f"{what}: {len(bits)} widths given for {count} layers")
        return [int(b) for b in bits]
    return [int(bits)] * count


def integer_bits(max_abs: float, bits: int, signed: bool) -> int:
    """Integer bits (excluding the sign) that cover ``max_abs``, at most what ``bits`` allows."""
    needed = max(0, math.ceil(math.log2(max_abs))) if max_abs > 0 else 0
    return min(needed, bits - (1 if signed else 0))


def activation_ranges(model: keras.Model, split: Split) -> list[float]:
    """99.9th percentile of every hidden ReLU output on (up to 4096) training samples."""
    X, _ = split.xy("train", model.input_shape[1:])
    relus = [layer for layer in model.layers if _is_relu(layer)]
    if not relus:
        return []
    probe = keras.Model(model.inputs, [layer.output for layer in relus])
    outputs = probe.predict(X[:4096], batch_size=1024, verbose=0)
    if len(relus) == 1:
        outputs = [outputs]
    return [float(np.percentile(out, 99.9)) for out in outputs]


def _is_relu(layer) -> bool:
    if isinstance(layer, QActivation):
        return "relu" in str(layer.get_config()["activation"])
    return isinstance(layer, keras.layers.Activation) and layer.get_config()["activation"] == "relu"


def to_qkeras(model: keras.Model, split: Split, weight_bits, activation_bits) -> tuple[keras.Model, dict]:
    """The same network with QKeras layers and its trained weights; returns the precisions used."""
    kernels = weight_layers(model)
    relus = [layer for layer in model.layers if _is_relu(layer)]
    wbits = per_layer(weight_bits, len(kernels), "quantize.weight_bits")
    abits = per_layer(activation_bits, len(relus), "quantize.activation_bits")
    ranges = activation_ranges(model, split)
    layers = [keras.layers.InputLayer(input_shape=model.input_shape[1:], name="x_in")]
    precisions: dict = {}
    copies = []
    k = a = 0
    for layer in model.layers:
        cfg = layer.get_config()
        if layer in kernels:
            kernel, bias = layer.get_weights()
            bits = wbits[k]
            k += 1
            wq = quantized_bits(bits, integer_bits(np.abs(kernel).max(), bits, True), alpha=1)
            bq = quantized_bits(bits, integer_bits(np.abs(bias).max(), bits, True), alpha=1)
            common = {"name": layer.name, "kernel_quantizer": wq, "bias_quantizer": bq}
            if isinstance(layer, keras.layers.Conv2D):
                new = QConv2D(cfg["filters"], cfg["kernel_size"], strides=cfg["strides"], padding=cfg["padding"], **common)
            else:
                new = QDense(cfg["units"], **common)
            copies.append((new, [kernel, bias]))
            precisions[layer.name] = {"weight": str(wq), "bias": str(bq)}
        elif _is_relu(layer):
            bits = abits[a]
            quantizer = quantized_relu(bits, integer_bits(ranges[a], bits, False))
            a += 1
            new = QActivation(quantizer, name=layer.name)
            precisions[layer.name] = {"activation": str(quantizer)}
        else:
            new = layer.__class__.from_config(cfg)
        layers.append(new)
    qmodel = keras.Sequential(layers, name=model.name)
    for new, weights in copies:
        new.set_weights(weights)
    return qmodel, precisions


def quantize(model: keras.Model, split: Split, weight_bits, activation_bits, cfg: dict, log=print):
    """QKeras conversion + quantisation-aware fine-tuning; pruned zeros stay zero."""
    qmodel, precisions = to_qkeras(model, split, weight_bits, activation_bits)
    history = fit(
        qmodel,
        split,
        epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        learning_rate=cfg["learning_rate"],
        patience=cfg["patience"],
        callbacks=[KeepZeros(weight_layers(qmodel))],
        log=log,
    )
    return qmodel, precisions, history
