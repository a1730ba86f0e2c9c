"""hls4ml conversion, bit-accurate C simulation, and a description of the hardware.

The accuracy of a design is the accuracy of its hls4ml model compiled with g++ and run
on the test set (``predict``): the same fixed-point arithmetic as the generated HLS.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil

import numpy as np

from . import kerasenv  # noqa: F401  (Keras 2 registered as 'keras' before hls4ml loads)
from .data import Split

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
    from .models import weight_layers

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
        config["LayerName"][name].setdefault("Precision", {})["result"] = precision
    _narrow_softmax_input(model, config, hls_cfg["default_precision"])
    return config


def valid_reuse_factors(model, backend: str, requested: dict[str, int]) -> dict[str, int]:
    """Each weight layer's reuse factor, moved to the closest value hls4ml accepts for the
    layer's shape (hls4ml itself checks only under the Resource strategy). A move is
    logged as a conversion note by :func:`convert`."""
    from .models import weight_layers

    hls_backend = hls4ml.backends.get_backend(backend)
    chosen = {}
    for layer in weight_layers(model):
        kernel = layer.get_weights()[0]
        n_in, n_out = int(np.prod(kernel.shape[:-1])), int(kernel.shape[-1])  # hls4ml's view of Dense and Conv
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
    from .fixed import Fixed

    fx = Fixed.parse(default_precision)
    layers = model.layers
    logits = [layer for layer in layers if hasattr(layer, "kernel") and _activation(layer) == "softmax"]  # Dense(activation=...)
    logits += [before for before, layer in zip(layers, layers[1:]) if not hasattr(layer, "kernel") and _activation(layer) == "softmax"]
    for layer in logits:
        precision = config["LayerName"].get(layer.name, {}).get("Precision")
        if isinstance(precision, dict) and precision.get("result", "auto") == "auto":
            precision["result"] = f"fixed<{fx.width},{fx.integer},RND,SAT>"


def _activation(layer) -> str:
    activation = layer.get_config().get("activation")
    return activation if isinstance(activation, str) else ""


def convert(model, output_dir: str, hls_cfg: dict, knobs: dict, precisions: dict | None = None):
    """Write the hls4ml project of ``model`` into ``output_dir`` (not compiled yet)."""
    # hls4ml prints the whole model and per-layer notes; keep the job log readable.
    with contextlib.redirect_stdout(io.StringIO()) as chatter:
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
    notes = [line for line in chatter.getvalue().splitlines() if re.search(r"WARNING|Invalid|adjust", line)]
    return hls_model, notes


def compile_model(hls_model) -> None:
    """Write and compile the C++ model with g++ (bit-accurate emulation of the HLS code)."""
    with contextlib.redirect_stdout(io.StringIO()):
        hls_model.compile()


def predict(hls_model, X: np.ndarray) -> np.ndarray:
    with contextlib.redirect_stdout(io.StringIO()):
        out = hls_model.predict(np.ascontiguousarray(X, dtype=np.float32))
    return np.asarray(out).reshape(len(X), -1)


def score(hls_model, model, split: Split) -> dict:
    """Bit-accurate accuracy of the hls4ml model and its agreement with Keras, on the test
    split (what the tables report) and on the validation split (what decisions use:
    reduce objectives, branch predicates, the search score)."""
    result = {}
    for part, prefix in (("test", ""), ("val", "val_")):
        X, y = split.xy(part, model.input_shape[1:])
        hls_out = predict(hls_model, X)
        keras_out = model.predict(X, batch_size=1024, verbose=0)
        hls_cls, keras_cls = hls_out.argmax(axis=1), keras_out.argmax(axis=1)
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
    """Accuracy of ``model``'s compiled hls4ml model on one split (for automatic tasks);
    the scratch project in ``workdir`` is removed afterwards (also when it fails)."""
    knobs = knobs or {"reuse_factor": 1, "strategy": "latency", "io_type": hls_cfg.get("io_type", "io_parallel")}
    try:
        hls_model, _ = convert(model, str(workdir), hls_cfg, knobs, precisions)
        compile_model(hls_model)
        X, y = split.xy(part, model.input_shape[1:])
        return float(np.mean(predict(hls_model, X).argmax(axis=1) == y))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def data_tensors(model, split: Split) -> dict[str, tuple[float, bool]]:
    """The tensors whose hls4ml type the automatic hls task may narrow, with their observed
    range on the training split: the input, and every float (non-QKeras) ReLU output.
    QKeras activations keep the type of their quantizer. Returns name -> (max |x|, signed)."""
    from .quantize import activation_ranges, float_relus

    X, _ = split.xy("train", model.input_shape[1:])
    tensors = {model.input_names[0]: (float(np.percentile(np.abs(X), 99.9)), True)}
    relus = float_relus(model)
    ranges = dict(zip((layer.name for layer in relus), activation_ranges(model, split, relus)))
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
    from pathlib import Path

    from .candidates import CandidateLog, lowest_accepted

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
    from .quantize import integer_bits

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
    from .fixed import quantize_to

    layers, weights = [], {}
    io_type = hls_model.config.get_config_value("IOType")
    for layer in hls_model.get_layers():
        entry = {
            "name": layer.name,
            "class": layer.class_name,
            "io_type": io_type,
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
