"""Conversion to QKeras with per-layer bit widths, and quantisation-aware fine-tuning.

Weights and biases use ``quantized_bits(bits, integer, alpha=1)``; hidden activations
use ``quantized_relu(bits, integer)``. The integer bits come from the observed ranges
(largest weight magnitude; 99.9th percentile of each activation on the training set),
so narrow widths spend their bits on the fraction. hls4ml reads these quantizers into
the matching ``ap_fixed`` types.

Any supported graph converts layer by layer (``graph.rebuild``): each weight layer
becomes its QKeras form (QDense, QConv1D, QConv2D, QDepthwiseConv2D, QSeparableConv1D/2D),
each ReLU a ``QActivation`` (a weight layer's own ``activation='relu'`` is split off as
``<name>_relu``, its other activations as ``<name>_<activation>``); the QKeras layers of a
user's network are re-quantised the same way, so the widths are the ones asked for. The
other layers (pooling, padding, reshapes, Add, Concatenate, Dropout, non-ReLU activations)
are kept. Weight widths are per weight layer in the model's order, activation widths per
ReLU (``graph.relu_layers``).

BatchNorm is folded into the weight layer before it: kernel and bias are multiplied by
gamma / sqrt(variance + epsilon) per output channel, and the shift beta - mean * scale is
added to the bias; the folded kernel and bias are then quantised like any other. Why:
hls4ml 1.3 fuses a BatchNormalization into the layer before it only when neither is
quantised (its ``FuseBatchNormalization`` pass), so a QDense followed by a BatchNorm
stays two layers, and the BatchNorm computes with hls4ml's default precision, not with
what QKeras trained; a ``QBatchNormalization`` has quantizers of its own for gamma, beta,
mean and variance, from which QKeras computes in float while hls4ml computes a scale and
bias and quantises them again into its own types, so neither is bit-accurate. A folded
layer is one quantised kernel and bias, which hls4ml implements exactly as QKeras
computes it. A BatchNorm that does not directly follow a weight layer with a linear
output (e.g. one after a ReLU) cannot be folded: it stays a float BatchNormalization,
converted by hls4ml at its default precision.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .kerasenv import keras  # first: QKeras must see tf_keras

import qkeras  # noqa: E402
from qkeras import QActivation, quantized_bits, quantized_relu  # noqa: E402

from . import hls
from .candidates import CandidateLog, lowest_accepted
from .data import Split
from .failures import DesignFailed
from .fixed import integer_bits
from .graph import (
    ACTIVATION, BATCHNORM, RELUS, WEIGHT, WEIGHT_FAMILIES, activation_of, activation_ranges, kernel_arrays,
    kernel_names, n_weights, rebuild, relu_layers, role, topology, weight_layers,
)  # fmt: skip
from .training import KeepZeros, accuracy, fit


def per_layer(bits, count: int, what: str) -> list[int]:
    """A uniform width or a per-layer list, checked against the layer count."""
    if isinstance(bits, (list, tuple)):
        if len(bits) != count:
            raise ValueError(f"{what}: {len(bits)} widths given for {count} layers")
        return [int(b) for b in bits]
    return [int(bits)] * count


# QKeras class -> (positional config keys, keyword config keys) of its constructor
QKERAS_ARGS = {
    "QDense": (("units",), ()),
    "QConv1D": (("filters", "kernel_size"), ("strides", "padding")),
    "QConv2D": (("filters", "kernel_size"), ("strides", "padding")),
    "QDepthwiseConv2D": (("kernel_size",), ("strides", "padding", "depth_multiplier")),
    "QSeparableConv1D": (("filters", "kernel_size"), ("strides", "padding", "depth_multiplier")),
    "QSeparableConv2D": (("filters", "kernel_size"), ("strides", "padding", "depth_multiplier")),
}
QUANTIZER_ARGS = {"kernel": "kernel_quantizer", "depthwise_kernel": "depthwise_quantizer", "pointwise_kernel": "pointwise_quantizer"}
PRECISION_KEYS = {"kernel": "weight", "depthwise_kernel": "weight", "pointwise_kernel": "pointwise"}


def batchnorm_folds(model: keras.Model) -> dict[str, str]:
    """BatchNorm layers that fold into the weight layer they directly follow (its only
    reader, with a linear output): BatchNorm name -> weight layer name."""
    graph = topology(model)
    folds = {}
    for layer in graph.layers:
        (source,) = graph.inputs[layer.name][:1] or (None,)
        if role(layer) != BATCHNORM or source in (None, graph.input_name):
            continue
        parent = graph.layer(source)
        if role(parent) == WEIGHT and activation_of(parent) == "linear" and graph.consumers[source] == [layer.name]:
            folds[layer.name] = source
    return folds


def _affine(batchnorm) -> tuple[np.ndarray, np.ndarray]:
    """A BatchNorm at inference as scale * x + shift, per channel."""
    cfg = batchnorm.get_config()
    weights = iter(batchnorm.get_weights())
    gamma = next(weights) if cfg["scale"] else 1.0
    beta = next(weights) if cfg["center"] else 0.0
    mean, variance = next(weights), next(weights)
    scale = gamma / np.sqrt(variance + cfg["epsilon"])
    return scale, beta - mean * scale


def folded_weights(layer, batchnorm=None) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """The kernels (attribute -> array) and bias of a weight layer, with ``batchnorm``
    folded in (the bias is then always present)."""
    kernels = dict(zip(kernel_names(layer), kernel_arrays(layer)))
    bias = layer.bias.numpy() if layer.get_config().get("use_bias", True) else None
    if batchnorm is None:
        return kernels, bias
    scale, shift = _affine(batchnorm)
    last = kernel_names(layer)[-1]  # the kernel whose last axis is the output channel
    kernel = kernels[last]
    if last == "depthwise_kernel" and len(kernel_names(layer)) == 1:  # (kh, kw, channels, multiplier)
        kernels[last] = kernel * scale.reshape(kernel.shape[-2], kernel.shape[-1])
    else:
        kernels[last] = kernel * scale
    bias = (0.0 if bias is None else bias) * scale + shift
    return kernels, bias.astype(np.float32)


def _quantizer(values: np.ndarray, bits: int):
    return quantized_bits(bits, integer_bits(float(np.abs(values).max()), bits, True), alpha=1)


def to_qkeras(model: keras.Model, split: Split, weight_bits, activation_bits) -> tuple[keras.Model, dict]:
    """The same network with QKeras layers and its trained weights (BatchNorm folded);
    returns the precisions used."""
    kernels = weight_layers(model)
    relus = relu_layers(model)
    wbits = dict(zip((layer.name for layer in kernels), per_layer(weight_bits, len(kernels), "quantize.weight_bits")))
    abits = dict(zip((layer.name for layer in relus), per_layer(activation_bits, len(relus), "quantize.activation_bits")))
    ranges = dict(zip((layer.name for layer in relus), activation_ranges(model, split)))
    folds = batchnorm_folds(model)
    folded_by = {weight: model.get_layer(bn) for bn, weight in folds.items()}
    precisions: dict = {}
    copies = []  # (new layer, weights), set once the network is built

    def relu(layer, name):
        bits = abits[layer.name]
        quantizer = quantized_relu(bits, integer_bits(ranges[layer.name], bits, False))
        precisions[name] = {"activation": str(quantizer)}
        return QActivation(quantizer, name=name)

    def weight_layer(layer):
        family = WEIGHT_FAMILIES[type(layer).__name__][0]
        arrays, bias = folded_weights(layer, folded_by.get(layer.name))
        bits, cfg = wbits[layer.name], layer.get_config()
        positional, keywords = QKERAS_ARGS[family]
        quantizers = {QUANTIZER_ARGS[attr]: _quantizer(values, bits) for attr, values in arrays.items()}
        common = {"name": layer.name, **quantizers}
        if bias is not None:
            common["bias_quantizer"] = _quantizer(bias, bits)
        else:
            common["use_bias"] = False
        new = getattr(qkeras, family)(*(cfg[k] for k in positional), **{k: cfg[k] for k in keywords}, **common)
        copies.append((new, [*arrays.values(), *([] if bias is None else [bias])]))
        precisions[layer.name] = {PRECISION_KEYS[attr]: str(quantizers[QUANTIZER_ARGS[attr]]) for attr in arrays}
        if bias is not None:
            precisions[layer.name]["bias"] = str(common["bias_quantizer"])
        activation = activation_of(layer)
        if activation == "linear":
            return [new]
        if activation in RELUS:
            return [new, relu(layer, f"{layer.name}_relu")]
        # another activation of its own (softmax, sigmoid, tanh, a QKeras quantizer): kept, as a layer
        function = layer.activation
        after = QActivation(function, name=f"{layer.name}_{activation}") if hasattr(function, "get_config") else keras.layers.Activation(function, name=f"{layer.name}_{activation}")
        return [new, after]

    def convert(layer):
        if role(layer) == WEIGHT:
            return weight_layer(layer)
        if layer.name in folds:
            return []  # folded into the weight layer before it
        if role(layer) == ACTIVATION and activation_of(layer) in RELUS:
            return [relu(layer, layer.name)]
        new = layer.__class__.from_config(layer.get_config())
        if layer.weights:
            copies.append((new, layer.get_weights()))
        return [new]

    qmodel = rebuild(model, convert)
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
    record = CandidateLog("quantize", accuracy(model, split, "val"), tolerance, relative=False, log=log)
    n_kernels = len(weight_layers(model))
    n_acts = len(relu_layers(model))
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
    if not attempt([hi] * n_kernels, [hi] * n_acts):
        widest = record.rows[-1]
        if tried[((hi,) * n_kernels, (hi,) * n_acts)][1] is None:
            raise DesignFailed(f"quantize: even the widest candidate ({hi} bits) could not be built: {widest['reason']}")
        record.within_tolerance = False
        log(f"  quantize: even {hi} bits lose more than {tolerance}; keeping {hi} bits (not within the tolerance)")
    else:
        hi = lowest_accepted(lo, hi, lambda bits: attempt([bits] * n_kernels, [bits] * n_acts))
    wbits, abits = [hi] * n_kernels, [hi] * n_acts
    if cfg["per_layer"] and tried[(tuple(wbits), tuple(abits))][0]:
        sizes = [n_weights(layer) for layer in weight_layers(model)]
        for i in sorted(range(n_kernels), key=lambda j: -sizes[j]):
            while wbits[i] > cfg["min_bits"] and attempt(wbits[:i] + [wbits[i] - 1] + wbits[i + 1 :], abits):
                wbits[i] -= 1
        for i in range(n_acts):
            while abits[i] > cfg["min_bits"] and attempt(wbits, abits[:i] + [abits[i] - 1] + abits[i + 1 :]):
                abits[i] -= 1
    _, chosen, precisions = tried[(tuple(wbits), tuple(abits))]
    return chosen, wbits, abits, precisions, record
