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


def activation_ranges(model: keras.Model, split: Split, relus=None) -> list[float]:
    """99.9th percentile of the ReLU outputs (all hidden ReLUs unless given) on up to
    4096 training samples."""
    X, _ = split.xy("train", model.input_shape[1:])
    relus = [layer for layer in model.layers if _is_relu(layer)] if relus is None else relus
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


def float_relus(model: keras.Model) -> list:
    """Hidden ReLUs that are plain Keras activations (no QKeras quantizer)."""
    return [layer for layer in model.layers if _is_relu(layer) and not isinstance(layer, QActivation)]


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
    history = fit(qmodel, split, cfg, callbacks=[KeepZeros(weight_layers(qmodel))], log=log)
    return qmodel, precisions, history


def auto_quantize(model: keras.Model, split: Split, tolerance: float, cfg: dict, hls_cfg: dict, workdir, log=print):
    """Lower the bit widths as far as the absolute accuracy drop of the bit-accurate
    hls4ml model (validation split) against the float ``model`` stays within ``tolerance``.

    1. Uniform width: bisection between ``cfg['min_bits']`` and ``cfg['max_bits']``
       (weights and activations together).
    2. Per layer (``cfg['per_layer']``): from the layer with the most weights down, lower
       each layer's weight width, then each activation's width, one bit at a time while
       the candidate stays accepted.

    Every candidate is quantised, fine-tuned and judged by its compiled hls4ml model; a
    candidate that cannot be built (a design failure) is logged as rejected with its reason.
    Returns the accepted model with the fewest bits, its widths and quantizers, and the
    candidate log. When even ``max_bits`` is rejected, that model is kept and the log's
    ``within_tolerance`` is False; when it could not be built at all, the task fails
    (:class:`hlsnake.failures.DesignFailed`).
    """
    from pathlib import Path

    from . import hls
    from .candidates import CandidateLog, lowest_accepted
    from .failures import DesignFailed
    from .training import accuracy

    record = CandidateLog("quantize", accuracy(model, split, "val"), tolerance, relative=False, log=log)
    n_weights = len(weight_layers(model))
    n_acts = len([layer for layer in model.layers if _is_relu(layer)])
    tried: dict = {}

    def attempt(wbits: list[int], abits: list[int]) -> bool:
        key = (tuple(wbits), tuple(abits))
        if key not in tried:
            knobs = {"weight_bits": "-".join(map(str, wbits)), "activation_bits": "-".join(map(str, abits))}

            def work():
                qmodel, precisions, _ = quantize(model, split, wbits, abits, cfg, log=lambda *_: None)
                project = Path(workdir) / f"candidate{len(tried) + 1}"
                return hls.bit_accurate_accuracy(qmodel, split, "val", project, hls_cfg), (qmodel, precisions)

            accepted, built = record.evaluate(knobs, work)
            tried[key] = (accepted, *(built or (None, None)))
        return tried[key][0]

    lo, hi = int(cfg["min_bits"]), int(cfg["max_bits"])
    if not attempt([hi] * n_weights, [hi] * n_acts):
        widest = record.rows[-1]
        if tried[((hi,) * n_weights, (hi,) * n_acts)][1] is None:
            raise DesignFailed(f"quantize: even the widest candidate ({hi} bits) could not be built: {widest['reason']}")
        record.within_tolerance = False
        log(f"  quantize: even {hi} bits lose more than {tolerance}; keeping {hi} bits (not within the tolerance)")
    else:
        hi = lowest_accepted(lo, hi, lambda bits: attempt([bits] * n_weights, [bits] * n_acts))
    wbits, abits = [hi] * n_weights, [hi] * n_acts
    if cfg["per_layer"] and tried[(tuple(wbits), tuple(abits))][0]:
        sizes = [layer.get_weights()[0].size for layer in weight_layers(model)]
        for i in sorted(range(n_weights), key=lambda j: -sizes[j]):
            while wbits[i] > cfg["min_bits"] and attempt(wbits[:i] + [wbits[i] - 1] + wbits[i + 1 :], abits):
                wbits[i] -= 1
        for i in range(n_acts):
            while abits[i] > cfg["min_bits"] and attempt(wbits, abits[:i] + [abits[i] - 1] + abits[i + 1 :]):
                abits[i] -= 1
    _, chosen, precisions = tried[(tuple(wbits), tuple(abits))]
    return chosen, wbits, abits, precisions, record
