"""Resource and latency estimate of an hls4ml design, without any vendor tool.

It follows what the HLS tools do with hls4ml's code rather than counting parameters
(the rules below were read off real Vivado/Vitis HLS reports, see docs/estimator.md):

* Every weight is a constant. A zero weight costs nothing; a power of two is a shift
  (wiring). A constant with fewer than ``mult_min_digits`` non-zero digits in its
  canonical signed-digit (CSD) form becomes shift-and-add logic in LUTs; the others are
  true multiplications: DSPs when both operands are wide enough (or the project forces
  ``config_op mul -impl dsp``), LUT multipliers otherwise (or with ``-impl fabric``).
* A reuse factor R caps the true multiplications at hls4ml's ``multiplier_limit``
  (ceil(n/R) - zeros//R); they share those instances and the interval grows (at most R).
  The Resource strategy uses ceil(n/R) general multipliers, zeros included.
* Each non-zero product is summed into its output in an adder as wide as the sum can
  get (at most the accumulator); ReLU, pooling and the like cost LUTs per element
  processed in parallel; softmax uses one DSP per output and a table; io_stream adds
  FIFOs between the layers; the register count follows the pipeline depth.
* Latency: a layer's pipeline is its multiplier stages plus its adder levels at the
  clock; io_parallel layers run one after the other, io_stream layers overlap (the
  slowest layer's interval plus the others' depths).

Every output says ``"source": "estimate"`` with the estimator version; the coefficients
are fitted on real reports (:mod:`hlsnake.synth.calibrate`) and their error measured.
"""

from __future__ import annotations

import math

import numpy as np

from ..artifacts import load_description
from ..fixed import Fixed
from .base import Backend, SynthJob, register

VERSION = "0.2"

# Fitted with ``python -m hlsnake.synth.calibrate --fit`` on the training half of the real
# reports (docs/estimator.md: method, split, errors, blind spots).
COEFFICIENTS = {
    # binding of constant multiplications (CSD digits of the odd part of the constant);
    # the reports fix the bit thresholds only to a range (input 6-16, weight 9-16 bits): middle taken
    "mult_min_digits": 3,
    "dsp_min_input_bits": 11,
    "dsp_min_weight_bits": 13,
    # LUTs
    "lut_per_adder_bit": 1.0,  # shift-add and accumulation adders (one LUT per bit on a carry chain; not fitted)
    "lut_fabric_mult": 2.007,  # a LUT multiplier of a constant, relative to its shift-add adders
    "lut_per_dsp_mult": 8.24,  # glue around a DSP product
    "lut_per_act_bit": 2.945,  # ReLU and other activations, per element and input bit
    "lut_per_pool_bit": 4.515,  # pooling, per element read and bit
    "lut_per_softmax": 179.348,  # per softmax output
    "lut_per_mux_bit": 2.157,  # io_parallel convolution: window selection, per element and bit
    "lut_per_fifo_bit": 2.047,  # io_stream: FIFO between layers, per channel and bit
    "ff_per_fifo_bit": 0.939,
    "bram_per_softmax": 2,  # not fitted (BRAM is not among the calibrated metrics)
    # what differs between the tools: how deep they pipeline (Vitis HLS registers far more)
    "vitis_hls": {
        "add_ns": 2.5,  # one adder level
        "dsp_ns": 11,  # a DSP multiplication with its registers
        "act_ns": 4.0,  # an activation (ReLU modules: 1 cycle at 3.33 ns, none at 5 ns; not fitted)
        "softmax_ns": 45.0,  # softmax modules: 13-16 cycles at 3.33 ns (not fitted)
        "layer_cycles": 0,  # io_parallel: registers between layers
        "ff_per_stage_bit": 0.18,  # per product, accumulator bit and pipeline stage
        "ff_per_lut": 0.347,  # registers in the logic that is not a pipeline of sums
        "ff_per_dsp": 9.619,
    },
    "vivado_hls": {
        "add_ns": 2.5,
        "dsp_ns": 6,
        "act_ns": 4.0,
        "softmax_ns": 45.0,  # 2 cycles at 25 ns
        "layer_cycles": 0,
        "ff_per_stage_bit": 0.102,
        "ff_per_lut": 0.15,
        "ff_per_dsp": 7.908,
    },
}
# hls4ml backend (config key hls.backend) -> the HLS tool that synthesises its projects
TOOLS = {"Vitis": "vitis_hls", "Vivado": "vivado_hls", "vitis_hls": "vitis_hls", "vivado_hls": "vivado_hls"}


def _odd_parts(codes: np.ndarray) -> np.ndarray:
    """|code| without its trailing zero bits (those are a free shift)."""
    n = np.abs(codes.astype(np.int64))
    while True:
        even = (n != 0) & (n % 2 == 0)
        if not even.any():
            return n
        n[even] //= 2


def csd_digits(codes) -> np.ndarray:
    """Non-zero digits of each integer in canonical signed-digit form."""
    n = np.abs(np.asarray(codes, dtype=np.int64))
    digits = np.zeros(n.shape, dtype=np.int64)
    while n.any():
        odd = n & 1
        digits += odd
        n = (n - (2 - (n & 3)) * odd) >> 1  # ...01 -> subtract 1; ...11 -> add 1
    return digits


def _dsp_bound(mul_impl: str, input_bits: int, weight_bits: int, c: dict) -> bool:
    if mul_impl in ("dsp", "fabric"):
        return mul_impl == "dsp"
    return input_bits >= c["dsp_min_input_bits"] and weight_bits >= c["dsp_min_weight_bits"]


def _dsp_per_general_mult(a: int, b: int) -> int:
    """DSP48 slices (27x18 / 25x18) for a general a x b multiplication."""
    return math.ceil(max(a, b) / 26) * math.ceil(min(a, b) / 18)


def _matmul(layer: dict, weights: np.ndarray, clock_ns: float, c: dict, mul_impl: str) -> dict:
    """Dense or convolution: multiplications, adder trees, pipeline depth."""
    rf = max(1, int(layer["reuse_factor"]))
    x, w = Fixed.parse(layer["input"]), Fixed.parse(layer["weight"])
    acc = Fixed.parse(layer.get("accum", layer["result"]))
    codes = np.round(np.asarray(weights, dtype=np.float64) * 2.0**w.fractional).astype(np.int64).ravel()
    n_out = int(layer.get("n_out") or layer.get("n_filt") or 1)
    nonzero = codes[codes != 0]
    n, n_nz = codes.size, nonzero.size
    odd = _odd_parts(nonzero)
    digits = csd_digits(odd)
    const_bits = np.floor(np.log2(np.maximum(odd, 1))).astype(np.int64) + 1
    to_dsp = _dsp_bound(mul_impl, x.width, w.width, c)
    if layer["strategy"] == "resource":  # weights in memory: general multipliers, zeros included
        mults = math.ceil(n / rf)
        n_terms, true_mults, instances = mults, mults, mults
        dsp = mults * _dsp_per_general_mult(x.width, w.width) if to_dsp else 0
        # a general multiplier in LUTs: about one LUT per two partial-product bits
        mult_lut = mults * (c["lut_per_dsp_mult"] if to_dsp else x.width * w.width / 2 * c["lut_fabric_mult"])
    else:
        true = digits >= c["mult_min_digits"]
        cheap = (digits >= 2) & ~true
        shift_add = (digits - 1) * (x.width + const_bits) * c["lut_per_adder_bit"]
        true_mults = int(true.sum())
        instances = min(true_mults, math.ceil(n / rf) - (n - n_nz) // rf)
        share = instances / true_mults if true_mults else 0.0
        dsp = instances if to_dsp else 0
        if to_dsp:
            mult_lut = instances * c["lut_per_dsp_mult"]
        else:
            mult_lut = float(shift_add[true].sum()) * c["lut_fabric_mult"] * share
        mult_lut += float(shift_add[cheap].sum())
        n_terms = n_nz
    levels = math.ceil(math.log2(max(1.0, n_terms / n_out) + 1))
    # one adder per product into its output's sum (the bias add included), as wide as the
    # sum can get: the tools trim a wide (hls4ml 1.3 'auto') accumulator to that
    sum_bits = min(acc.width, x.width + w.width + levels)
    lut = mult_lut + n_terms * sum_bits * c["lut_per_adder_bit"]
    if layer["strategy"] == "resource":  # each multiplier steps through its R weights
        interval = rf
    else:
        interval = max(1, min(rf, math.ceil(true_mults / instances))) if instances else 1
    stages = math.ceil(((c["dsp_ns"] if dsp else 0.0) + levels * c["add_ns"]) / clock_ns)
    cycles = stages + interval - 1
    if layer["class"].startswith(("Conv", "PointwiseConv")):
        # hls4ml 1.x: one set of multipliers, reused for every position; io_stream reads one
        # input pixel per interval, io_parallel computes one output position per interval
        stream = layer["io_type"] == "io_stream"
        side = "in" if stream else "out"
        pixels = int(layer.get(f"{side}_height", 1)) * int(layer.get(f"{side}_width", 1))
        cycles += interval * (pixels - 1)
        interval *= pixels
        if not stream:  # selecting each window out of the whole input
            elements = int(np.prod(layer["output_shape"])) + pixels * int(layer.get("n_chan", 1))
            lut += elements * x.width * c["lut_per_mux_bit"]
    # pipeline registers hold the partial sums at each stage
    ff = n_terms * sum_bits * stages * c["ff_per_stage_bit"] + dsp * c["ff_per_dsp"] + lut * c["ff_per_lut"]
    return {"DSP": dsp, "LUT": lut, "FF": ff, "BRAM_18K": 0, "cycles": cycles, "interval": interval,
            "multiplications": int(true_mults)}  # fmt: skip


def _parallel_elements(layer: dict) -> int:
    """Elements a layer handles at once: all of them (io_parallel), one pixel (io_stream)."""
    shape = layer["output_shape"]
    if layer["io_type"] == "io_stream" and len(shape) > 1:
        return int(shape[-1])
    return int(np.prod(shape))


def _softmax(layer: dict, clock_ns: float, c: dict, mul_impl: str) -> dict:
    n = int(np.prod(layer["output_shape"]))
    rf = max(1, int(layer.get("reuse_factor", 1))) if layer["io_type"] == "io_stream" else 1
    dsp = 0 if mul_impl == "fabric" else math.ceil(n / rf)
    lut = n * c["lut_per_softmax"] * (1 if dsp else 1 + c["lut_fabric_mult"])
    return {"DSP": dsp, "LUT": lut, "FF": lut * c["ff_per_lut"] + dsp * c["ff_per_dsp"],
            "BRAM_18K": c["bram_per_softmax"], "cycles": math.ceil(c["softmax_ns"] / clock_ns), "interval": 1}  # fmt: skip


def _elementwise(layer: dict, clock_ns: float, c: dict) -> dict:
    n = _parallel_elements(layer)
    width = Fixed.parse(layer.get("input", layer["result"])).width
    if "Pool" in layer["class"]:
        window = int(layer.get("pool_height", 1)) * int(layer.get("pool_width", 1))
        if layer["class"].startswith("GlobalPooling"):
            window = int(layer.get("n_in", 1)) if layer["io_type"] == "io_parallel" else 1
        lut = n * window * width * c["lut_per_pool_bit"]
    else:
        lut = n * width * c["lut_per_act_bit"]
    shape = layer["output_shape"]
    pixels = 1
    if layer["io_type"] == "io_stream" and "in_width" in layer:  # one pixel read per cycle
        pixels = int(layer.get("in_height", 1)) * int(layer["in_width"])
    elif layer["io_type"] == "io_stream" and len(shape) > 1:
        pixels = int(np.prod(shape[:-1]))
    stages = math.floor(c["act_ns"] / clock_ns)
    ff = n * width * stages * c["ff_per_stage_bit"] + lut * c["ff_per_lut"]
    return {"DSP": 0, "LUT": lut, "FF": ff, "BRAM_18K": 0, "cycles": pixels - 1 + stages, "interval": pixels}


ZERO_COST = ("Input", "Reshape", "Transpose", "Flatten")


def _free(layer: dict) -> bool:
    """Wiring, or a cast: hls4ml 1.3 keeps a linear activation after a quantised layer as
    '<layer>_linear' (the description has no activation name; the reports show no module)."""
    return layer["class"] in ZERO_COST or (layer["class"] == "Activation" and layer["name"].endswith("_linear"))


def estimate(layers: list[dict], weights: dict[str, np.ndarray], clock_ns: float, coefficients: dict | None = None,
             mul_impl: str = "auto", tool: str = "vitis_hls") -> dict:  # fmt: skip
    """Resources and latency of a described hls4ml design (see :func:`hlsnake.hls.describe`).

    ``mul_impl`` is the project's multiplier binding: ``auto`` (the tool decides),
    ``dsp`` or ``fabric`` (Vivado/Vitis ``config_op mul -impl``); ``tool`` the HLS tool
    (``vitis_hls``, ``vivado_hls``, or the hls4ml backend name ``Vitis``, ``Vivado``)."""
    if mul_impl not in ("auto", "dsp", "fabric"):
        raise ValueError(f"mul_impl must be auto, dsp or fabric, not {mul_impl!r}")
    if tool not in TOOLS:
        raise ValueError(f"tool must be one of {', '.join(TOOLS)}, not {tool!r}")
    tool = TOOLS[tool]
    c = {**COEFFICIENTS, **(coefficients or {})}
    c.update(c[tool])
    per_layer = []
    for layer in layers:
        if _free(layer):
            continue
        if layer["name"] in weights:
            cost = _matmul(layer, weights[layer["name"]], clock_ns, c, mul_impl)
        elif layer["class"] == "Softmax":
            cost = _softmax(layer, clock_ns, c, mul_impl)
        else:
            cost = _elementwise(layer, clock_ns, c)
        per_layer.append({"name": layer["name"], "class": layer["class"], **cost})
    stream = any(layer.get("io_type") == "io_stream" for layer in layers)
    total = {key: sum(p[key] for p in per_layer) for key in ("DSP", "LUT", "FF", "BRAM_18K")}
    interval = max((p["interval"] for p in per_layer), default=1)
    if stream:  # dataflow: the layers overlap; FIFOs carry one pixel between each pair
        latency = interval + sum(p["cycles"] - p["interval"] for p in per_layer)
        fifo = sum(_parallel_elements(l) * Fixed.parse(l["result"]).width for l in layers if not _free(l))
        total["LUT"] += fifo * c["lut_per_fifo_bit"]
        total["FF"] += fifo * c["ff_per_fifo_bit"]
    else:
        latency = sum(p["cycles"] for p in per_layer) + c["layer_cycles"] * len(per_layer)
    latency = max(1, int(round(latency)))
    return {
        "source": "estimate",
        "estimator_version": VERSION,
        "DSP": int(total["DSP"]),
        "LUT": int(round(total["LUT"])),
        "FF": int(round(total["FF"])),
        "BRAM_18K": int(total["BRAM_18K"]),
        "URAM": 0,
        "latency_cycles": latency,
        "latency_ns": float(latency * clock_ns),
        "interval": int(interval),
        "clock_ns": float(clock_ns),
        "mul_impl": mul_impl,
        "tool": tool,
        "layers": per_layer,
    }


def run(job: SynthJob) -> dict:
    """The estimate of the design an hls stage described (layers.json, weights.npz)."""
    description, weights = load_description(job.hls_dir)
    tool = job.hls.get("backend", "Vitis")  # the tool that would synthesise the project
    return estimate(description["layers"], weights, description["clock_period"], tool=tool)


register(Backend("estimate", run, describe="hlsnake's estimator (instant, no tool)"))
