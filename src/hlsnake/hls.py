"""hls4ml conversion, the bit-accurate accuracy of the design, and a description of the
hardware.

The accuracy of a design is the accuracy of its hls4ml model's fixed-point arithmetic, the
same as the generated HLS computes: emulated, or simulated in C (:mod:`hlsnake.evaluation`).
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import numpy as np

from . import kerasenv  # noqa: F401  (Keras 2 registered as 'keras' before hls4ml loads)
from .candidates import CandidateLog, lowest_accepted
from .data import Split
from .evaluation import BitAccurate, bit_accurate
from .failures import DesignFailed, failures_inside
from .fixed import Fixed, integer_bits, quantize_to
from .graph import (
    ACTIVATION, DROPOUT, activation_ranges, activation_of, classes_of, float_relus, kernel_arrays, kernel_names,
    relu_tensor_name, role, topology, weight_layers,
)  # fmt: skip

import hls4ml  # noqa: E402


def _precision_text(precision) -> str:
    """``fixed<16,6>``, with its rounding and saturation where they are not the default
    truncation and wrap-around (``ufixed<6,0,RND_CONV,SAT>``: they cost logic)."""
    signed = getattr(precision, "signed", True)
    modes = [getattr(getattr(precision, attr, None), "name", None) for attr in ("rounding_mode", "saturation_mode")]
    extra = "" if modes[0] in (None, "TRN") and modes[1] in (None, "WRAP") else f",{modes[0] or 'TRN'},{modes[1] or 'WRAP'}"
    return f"{'' if signed else 'u'}fixed<{precision.width},{precision.integer}{extra}>"


def build_config(model, hls_cfg: dict, knobs: dict, precisions: dict | None = None) -> dict:
    """hls4ml configuration: per-layer precisions from QKeras quantizers where present,
    the default precision elsewhere, the design's strategy and reuse factor (one for all
    layers, or one per Dense/Conv layer in order), and result precisions chosen by the
    automatic hls task (``precisions``: layer name -> type)."""
    reuse = knobs["reuse_factor"]
    per_layer = list(reuse) if isinstance(reuse, (list, tuple)) else None
    config = hls4ml.utils.config_from_keras_model(
        model,
        granularity="name",
        backend=hls_cfg["backend"],
        default_precision=hls_cfg["default_precision"],
        default_reuse_factor=int(per_layer[0] if per_layer else reuse),
    )
    strategy = knobs["strategy"].capitalize()
    config["Model"]["Strategy"] = strategy
    layers = weight_layers(model)
    requested = dict(zip((layer.name for layer in layers), per_layer or [reuse] * len(layers)))
    valid = valid_reuse_factors(model, hls_cfg["backend"], requested)
    for name, layer_cfg in config["LayerName"].items():
        if "ReuseFactor" in layer_cfg:
            layer_cfg["ReuseFactor"] = int(valid.get(name, layer_cfg["ReuseFactor"]))
        layer_cfg["Strategy"] = strategy
    for name, precision in (precisions or {}).items():
        config["LayerName"].setdefault(name, {}).setdefault("Precision", {})["result"] = precision
    for fix in CONFIG_FIXES:
        fix(model, config, hls_cfg["default_precision"])
    return config


def multiplier_shape(layer) -> tuple[int, int]:
    """(n_in, n_out) of a weight layer's multiplication as hls4ml sees it when it checks
    reuse factors (``get_layer_mult_size``): inputs per output times outputs. A depthwise
    convolution has one output per channel (times its multiplier); a separable one counts
    its depthwise kernel's inputs and its pointwise outputs."""
    kernels = dict(zip(kernel_names(layer), kernel_arrays(layer)))
    if "kernel" in kernels:  # Dense (n_in, n_out), Conv (k..., channels, filters)
        shape = kernels["kernel"].shape
        return int(np.prod(shape[:-1])), int(shape[-1])
    depthwise = kernels["depthwise_kernel"].shape  # (k..., channels, multiplier)
    n_out = kernels["pointwise_kernel"].shape[-1] if "pointwise_kernel" in kernels else depthwise[-2] * depthwise[-1]
    return int(np.prod(depthwise[:-1])), int(n_out)


def valid_reuse_factors(model, backend: str, requested: dict[str, int]) -> dict[str, int]:
    """Each weight layer's reuse factor, moved to the closest value hls4ml accepts for the
    layer's shape (hls4ml itself checks only under the Resource strategy). A move is
    logged as a conversion note by :func:`convert`."""
    hls_backend = hls4ml.backends.get_backend(backend)
    chosen = {}
    for layer in weight_layers(model):
        n_in, n_out = multiplier_shape(layer)
        options = hls_backend.get_valid_reuse_factors(n_in, n_out)
        rf = int(requested[layer.name])
        chosen[layer.name] = rf if rf in options else hls_backend.get_closest_reuse_factor(options, rf)
        if chosen[layer.name] != rf:
            print(f"WARNING: ReuseFactor={rf} is not valid for layer {layer.name} ({n_in}x{n_out}); using "
                  f"{chosen[layer.name]} (valid: {', '.join(map(str, options))})")
    return chosen


def _narrow_softmax_input(model, config: dict, default_precision: str) -> None:
    """Give the logits feeding a softmax the default width, saturating.

    hls4ml's stable softmax indexes its exp table with the top bits of (max - x) in a
    type derived from its input. With an 'auto' input type (the full accumulator width,
    e.g. ap_fixed<37,17>) every realistic difference falls into table entry 0 and all
    outputs come out equal (found on hls4ml 1.3). Saturation keeps large logits ordered.
    """
    fx = Fixed.parse(default_precision)
    for name in softmax_inputs(model):
        precision = config["LayerName"].get(name, {}).get("Precision")
        if isinstance(precision, dict) and precision.get("result", "auto") == "auto":
            precision["result"] = f"fixed<{fx.width},{fx.integer},RND,SAT>"


def _widen_global_average_accumulator(model, config: dict, default_precision: str) -> None:
    """Give a global average pooling room to sum before it divides.

    hls4ml 1.3 sums the N positions of a GlobalAveragePooling in its ``accum_t`` and
    divides at the end, but infers that type only for the windowed poolings; a global one
    keeps the default precision, and the sum wraps (a 4x4x16 map of ReLU outputs up to 7,
    summed into ap_fixed<16,6>, came out wrong by up to 4 after the division). The
    accumulator gets what hls4ml gives a windowed average: log2(N) more integer bits and
    as many more fraction bits."""
    fx = Fixed.parse(default_precision)
    for layer in model.layers:
        if type(layer).__name__ not in ("GlobalAveragePooling1D", "GlobalAveragePooling2D"):
            continue
        extra = int(np.ceil(np.log2(max(2, int(np.prod(layer.input_shape[1:-1]))))))
        entry = config["LayerName"].setdefault(layer.name, {})
        if not isinstance(entry.get("Precision"), dict):
            entry["Precision"] = {"result": entry.get("Precision", "auto")}
        entry["Precision"]["accum"] = f"fixed<{fx.width + 2 * extra},{fx.integer + extra}>"


def softmax_inputs(model) -> list[str]:
    """The hls4ml layers whose output a softmax reads: a layer with its own
    ``activation='softmax'`` (hls4ml splits the softmax off), or the layer before a
    softmax layer (Dropout, which hls4ml removes, looked through)."""
    graph = topology(model)
    names = []
    for layer in graph.layers:
        if activation_of(layer) != "softmax":
            continue
        if role(layer) != ACTIVATION:
            names.append(layer.name)
            continue
        source = graph.inputs[layer.name][0]
        while source != graph.input_name and role(graph.layer(source)) == DROPOUT:
            source = graph.inputs[source][0]
        names.append(source)
    return names


# adjustments of hls4ml's configuration that every design needs, in order
CONFIG_FIXES = (_narrow_softmax_input, _widen_global_average_accumulator)


def check_convertible(model, knobs: dict) -> None:
    """Stop a design hls4ml 1.3 is known to get wrong, with the reason (a design failure),
    before its C++ fails to compile or aborts the simulation:

    * its io_parallel headers for depthwise convolutions in 1D and in 2D
      (``nnet_sepconv1d_latency.h``, ``nnet_sepconv2d_latency.h``) share one include
      guard, so a project with both does not compile;
    * its io_parallel depthwise convolutions have no Resource strategy (an ``assert`` in
      the generated C++ stops the process)."""
    kinds = {type(layer).__name__.removeprefix("Q") for layer in weight_layers(model)}
    depthwise_1d = sorted(kinds & {"SeparableConv1D", "DepthwiseConv1D"})
    depthwise_2d = sorted(kinds & {"SeparableConv2D", "DepthwiseConv2D"})
    parallel = knobs["io_type"] == "io_parallel"
    if parallel and depthwise_1d and depthwise_2d:
        raise DesignFailed(
            f"hls4ml 1.3 cannot compile {depthwise_1d[0]} and {depthwise_2d[0]} layers in one io_parallel "
            "project (its 1D and 2D depthwise headers share an include guard); use io_stream"
        )
    if parallel and (depthwise_1d or depthwise_2d) and knobs["strategy"].lower() == "resource":
        raise DesignFailed(f"hls4ml 1.3 has no Resource strategy for {(depthwise_1d or depthwise_2d)[0]} in io_parallel; use Latency or io_stream")


class ConversionFailed(DesignFailed):
    """hls4ml could not convert the design, or write its project."""


def convert(model, output_dir: str, hls_cfg: dict, knobs: dict, precisions: dict | None = None):
    """Write the hls4ml project of ``model`` into ``output_dir`` (not compiled yet). An error
    raised inside hls4ml on the way fails the design (:class:`ConversionFailed`)."""
    check_convertible(model, knobs)
    # hls4ml prints the whole model and per-layer notes; keep the job log readable.
    with (
        contextlib.redirect_stdout(io.StringIO()) as chatter,
        failures_inside("hls4ml", ConversionFailed, "hls4ml could not convert the design"),
    ):
        config = build_config(model, hls_cfg, knobs, precisions)
        hls_model = hls4ml.converters.convert_from_keras_model(
            model,
            hls_config=config,
            output_dir=str(output_dir),
            project_name="myproject",
            backend=hls_cfg["backend"],
            io_type=knobs["io_type"],
            part=hls_cfg["part"],
            clock_period=hls_cfg["clock_period"],
        )
    _name_softmax_configs_as_called(hls_model)
    notes = [line for line in chatter.getvalue().splitlines() if re.search(r"WARNING|Invalid|adjust", line)]
    return hls_model, notes


def write(hls_model) -> None:
    """Write the design's hls4ml project (for a vendor tool); hls4ml failing at it fails the design."""
    with failures_inside("hls4ml", ConversionFailed, "hls4ml could not write the design's project"):
        hls_model.write()


def _name_softmax_configs_as_called(hls_model) -> None:
    """A Keras ``Softmax`` layer (not ``Activation('softmax')``) compiles in hls4ml 1.3 only
    with this: its parser names the activation after the class ('Softmax'), which names the
    config struct ``Softmax_config<n>``, while the function call reads ``softmax_config<n>``.
    The conversion has already written the struct's text, so that is renamed too."""
    for layer in hls_model.get_layers():
        if layer.class_name == "Softmax" and layer.get_attr("activation") == "Softmax":
            layer.set_attr("activation", "softmax")
            struct = layer.get_attr("config_cpp") or ""
            layer.set_attr("config_cpp", struct.replace(f"Softmax_config{layer.index}", f"softmax_config{layer.index}"))


def score(bit: BitAccurate, model, split: Split) -> dict:
    """Bit-accurate accuracy of the hls4ml design (``bit``: its evaluator) and its agreement
    with Keras, on the test split (what the tables report) and on the validation split
    (what decisions use: reduce objectives, branch predicates, the search score)."""
    result = {"evaluator": bit.evaluator, **({"evaluator_note": bit.note} if bit.note else {})}
    for part, prefix in (("test", ""), ("val", "val_")):
        X, y = split.xy(part, model.input_shape[1:])
        hls_out = bit.predict(X)
        keras_out = model.predict(X, batch_size=1024, verbose=0).reshape(len(X), -1)
        hls_cls, keras_cls = classes_of(model, hls_out), classes_of(model, keras_out)
        result.update(
            {
                f"{prefix}accuracy": float(np.mean(hls_cls == y)),
                f"{prefix}keras_accuracy": float(np.mean(keras_cls == y)),
                f"{prefix}agreement": float(np.mean(hls_cls == keras_cls)),
                f"{prefix}max_abs_diff": float(np.max(np.abs(hls_out - keras_out))),
                f"n_{part}": int(len(y)),
            }
        )
    return result


def bit_accurate_accuracy(
    model, split: Split, part: str, workdir, hls_cfg: dict, knobs: dict | None = None, precisions: dict | None = None
) -> float:
    """Accuracy of ``model``'s hls4ml design on one split (for automatic tasks), by the
    evaluator ``hls.evaluate`` asks for; a C simulation's scratch project in ``workdir`` is
    removed afterwards (also when it fails)."""
    knobs = knobs or {"reuse_factor": 1, "strategy": "latency", "io_type": hls_cfg.get("io_type", "io_parallel")}
    try:
        hls_model, _ = convert(model, str(workdir), hls_cfg, knobs, precisions)
        bit = bit_accurate(hls_model, hls_cfg.get("evaluate", "emulate"))
        X, y = split.xy(part, model.input_shape[1:])
        return float(np.mean(classes_of(model, bit.predict(X)) == y))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def data_tensors(model, split: Split) -> dict[str, tuple[float, bool]]:
    """The tensors whose hls4ml type the automatic hls task may narrow, with their observed
    range on the training split: the input, and every float (non-QKeras) ReLU output (by
    its hls4ml name, see ``graph.relu_tensor_name``). QKeras activations keep the type of
    their quantizer. Returns name -> (max |x|, signed)."""
    X, _ = split.xy("train", model.input_shape[1:])
    tensors = {model.input_names[0]: (float(np.percentile(np.abs(X), 99.9)), True)}
    relus = float_relus(model)
    ranges = dict(zip((relu_tensor_name(layer) for layer in relus), activation_ranges(model, split, relus)))
    tensors.update({name: (value, False) for name, value in ranges.items()})
    return tensors


def auto_precision(model, split: Split, hls_cfg: dict, knobs: dict, tolerance: float, workdir, log=print):
    """Narrow each data tensor's fixed-point type (input, float ReLU outputs) as far as the
    bit-accurate accuracy on the validation split stays within ``tolerance`` (absolute)
    of the design with hls4ml's default types. Integer bits come from the observed
    range; the fractional bits are bisected per tensor, in order (from 1 when the integer
    part is empty, so no type is zero bits wide). Rounding and saturation keep narrow types
    well-behaved. A candidate that cannot be built (a design failure) is logged as
    rejected. Returns (layer -> type, candidate log)."""
    workdir = Path(workdir)
    baseline = bit_accurate_accuracy(model, split, "val", workdir / "baseline", hls_cfg, knobs)
    record = CandidateLog("hls", baseline, tolerance, relative=False, log=log)
    chosen: dict[str, str] = {}
    max_fraction = 12

    def accepted(name, fraction):
        trial = {**chosen, name: tensor_precision(*tensors[name], fraction)}
        project = workdir / f"candidate{len(record.rows) + 1}"
        work = lambda: (bit_accurate_accuracy(model, split, "val", project, hls_cfg, knobs, trial), None)  # noqa: E731
        return record.evaluate({"layer": name, "precision": trial[name]}, work)[0]

    tensors = data_tensors(model, split)
    for name in tensors:
        low, high = min_fraction(*tensors[name]), max_fraction
        if not accepted(name, high):
            continue  # even the widest candidate loses accuracy: keep hls4ml's default here
        fraction = lowest_accepted(low, high, lambda f, name=name: accepted(name, f))
        chosen[name] = tensor_precision(*tensors[name], fraction)
    return chosen, record


def _tensor_integer(max_abs: float, signed: bool) -> int:
    """Integer bits of a tensor's type, the sign bit included, from its observed range."""
    return integer_bits(max_abs, 24, signed) + (1 if signed else 0)


def min_fraction(max_abs: float, signed: bool) -> int:
    """The fewest fractional bits a candidate type may have: at least one bit in all."""
    return max(0, 1 - _tensor_integer(max_abs, signed))


def tensor_precision(max_abs: float, signed: bool, fraction: int) -> str:
    """The candidate type of a data tensor (rounding, saturating) with ``fraction`` bits."""
    integer = _tensor_integer(max_abs, signed)
    fraction = max(int(fraction), min_fraction(max_abs, signed))
    return f"{'' if signed else 'u'}fixed<{integer + fraction},{integer},RND,SAT>"


# -- hardware description for the estimators ---------------------------------------------

_SHAPE_ATTRS = (
    "n_in", "n_out", "in_height", "in_width", "n_chan", "filt_height", "filt_width", "n_filt",
    "out_height", "out_width", "stride_height", "stride_width", "pool_height", "pool_width", "n_timesteps",
    "table_size", "parallelization_factor",
)  # fmt: skip


def describe(hls_model) -> tuple[list[dict], dict[str, np.ndarray]]:
    """What the estimators need of each layer: kind, shape, precisions, reuse factor,
    strategy, and the weights as the hardware holds them (quantised to their type)."""
    layers, weights = [], {}
    io_type = hls_model.config.get_config_value("IOType")
    # the top function: a pipeline, or a dataflow region (hls4ml: io_stream, Resource strategy,
    # convolutions computed in several partitions)
    pipeline_style = str(getattr(hls_model.config, "pipeline_style", None) or "auto").lower()
    for layer in hls_model.get_layers():
        entry = {
            "name": layer.name,
            "class": layer.class_name,
            "io_type": io_type,
            "pipeline_style": pipeline_style,
            "reuse_factor": int(layer.get_attr("reuse_factor", 1) or 1),
            "strategy": str(layer.get_attr("strategy", "latency")).lower(),
            "output_shape": [int(v) for v in layer.get_output_variable().shape],
            "result": _precision_text(layer.get_output_variable().type.precision),
        }
        inputs = layer.get_input_variable() if layer.inputs else None
        if inputs is not None:
            entry["input"] = _precision_text(inputs.type.precision)
        for attr in _SHAPE_ATTRS:
            value = layer.get_attr(attr)
            if value is not None:
                entry[attr] = int(value)
        for attr in ("activation", "implementation"):  # relu, sigmoid...; softmax 'stable' or 'latency'
            value = layer.get_attr(attr)
            if isinstance(value, str):
                entry[attr] = value.lower()
        pragma = getattr(layer.get_output_variable(), "pragma", None)
        if isinstance(pragma, tuple) and pragma[0] == "stream":  # io_stream FIFO depth of the output
            entry["fifo_depth"] = int(pragma[1])
        accum = layer.get_attr("accum_t")
        if accum is not None:
            entry["accum"] = _precision_text(accum.precision)
        if "weight" in layer.weights:
            w = layer.weights["weight"]
            entry["weight"] = _precision_text(w.type.precision)
            values = quantize_to(np.asarray(w.data, dtype=np.float64), entry["weight"])
            weights[layer.name] = values
            entry["n_weights"] = int(values.size)
            entry["n_nonzero"] = int(np.count_nonzero(values))
        elif "scale" in layer.weights:  # BatchNormalization: one constant multiplication per element
            scale = layer.weights["scale"]
            entry["weight"] = _precision_text(scale.type.precision)
            weights[layer.name] = quantize_to(np.asarray(scale.data, dtype=np.float64), entry["weight"])
        if "recurrent_weight" in layer.weights:  # GRU/LSTM: the state's weights, in their own entry
            recurrent = layer.weights["recurrent_weight"]
            entry["recurrent_weights"] = f"{layer.name}__recurrent"
            precision = _precision_text(recurrent.type.precision)
            weights[entry["recurrent_weights"]] = quantize_to(np.asarray(recurrent.data, dtype=np.float64), precision)
        layers.append(entry)
    return layers, weights
