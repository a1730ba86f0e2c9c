"""Resource and latency estimate of an hls4ml design, without any vendor tool.

It follows what the HLS tools do with hls4ml's code rather than counting parameters:

* Latency strategy, reuse factor 1: every weight is a constant. A zero weight costs
  nothing; a power of two is a shift (wiring); another constant becomes shift-and-add
  logic in LUTs when it is cheap (few non-zero digits in its canonical signed-digit
  form, narrow input) and a DSP multiplication otherwise.
* A reuse factor R > 1 (and the Resource strategy) shares one multiplier among R
  weights: the weight is no longer a constant, so each of the ceil(n/R) multipliers is
  a general one (DSP when both operands are wide enough, LUTs otherwise), and the
  interval grows to R.
* The sums are adder trees of the accumulator width; ReLU and pooling are comparators;
  softmax uses two lookup tables in BRAM.

Every output says ``"source": "estimate"`` with the estimator version; the coefficients
below are stated, and their error against real reports is measured by the tests.
"""

from __future__ import annotations

import math

import numpy as np

from ..fixed import Fixed

VERSION = "0.1"

COEFFICIENTS = {
    # a constant multiplication goes to a DSP when its CSD form has more than this many
    # non-zero digits and both the constant and the input are at least this wide
    "dsp_min_digits": 3,
    "dsp_min_const_bits": 5,
    "dsp_min_input_bits": 10,
    # a general (shared) multiplier goes to a DSP when both operands are at least this wide
    "dsp_min_general_bits": 8,
    "lut_per_adder_bit": 1.0,
    "ff_per_lut": 0.35,
    "add_ns": 1.1,  # one adder-tree level
    "dsp_mult_cycles": 3,
    "lut_mult_cycles": 1,
    "bram_per_softmax": 2,
}


def csd_digits(code: int) -> int:
    """Non-zero digits of ``code`` in canonical signed-digit form."""
    n, digits = abs(int(code)), 0
    while n:
        if n & 1:
            digits += 1
            n -= 2 - (n & 3)  # ...01 -> subtract 1; ...11 -> add 1
        n >>= 1
    return digits


def _const_costs(codes: np.ndarray, input_bits: int, c: dict) -> tuple[int, float]:
    """(DSPs, LUTs) of constant multiplications by the integer ``codes`` (zeros excluded)."""
    dsp, lut = 0, 0.0
    for code in codes:
        code = abs(int(code))
        while code and code % 2 == 0:  # trailing zeros are a free shift
            code //= 2
        if code <= 1:
            continue
        digits = csd_digits(code)
        const_bits = code.bit_length()
        if digits >= c["dsp_min_digits"] and const_bits >= c["dsp_min_const_bits"] and input_bits >= c["dsp_min_input_bits"]:
            dsp += 1
        else:
            lut += (digits - 1) * (input_bits + const_bits) * c["lut_per_adder_bit"]
    return dsp, lut


def _general_costs(n_mult: int, input_bits: int, weight_bits: int, c: dict) -> tuple[int, float]:
    if min(input_bits, weight_bits) >= c["dsp_min_general_bits"]:
        return n_mult, 0.0
    return 0, n_mult * input_bits * weight_bits * 0.6 * c["lut_per_adder_bit"]


def _matmul(layer: dict, weights: np.ndarray, clock_ns: float, c: dict) -> dict:
    """Dense or convolution: multiplications, adder trees, pipeline depth."""
    rf = max(1, int(layer["reuse_factor"]))
    x, w, acc = Fixed.parse(layer["input"]), Fixed.parse(layer["weight"]), Fixed.parse(layer.get("accum", layer["result"]))
    codes = np.round(weights * 2.0**w.fractional).astype(np.int64)
    n_out = int(layer.get("n_out") or layer.get("n_filt") or codes.shape[-1])
    nonzero = codes[codes != 0]
    resource = layer["strategy"] == "resource"
    n_terms = codes.size if resource else nonzero.size
    if rf == 1 and not resource:
        dsp, mult_lut = _const_costs(nonzero, x.width, c)
    else:
        dsp, mult_lut = _general_costs(math.ceil(n_terms / rf), x.width, w.width, c)
    adders = max(0, n_terms - n_out) / rf + n_out  # partial sums, plus the bias
    fan_in = max(1, n_terms // max(1, n_out))
    levels = math.ceil(math.log2(fan_in + 1))
    # the tools trim each adder to the bits its operands can reach, not the declared accumulator
    sum_bits = min(acc.width, x.width + w.width + levels)
    lut = mult_lut + adders * sum_bits * c["lut_per_adder_bit"]
    mult_cycles = c["dsp_mult_cycles"] if dsp else c["lut_mult_cycles"]
    cycles = mult_cycles + math.ceil(levels * c["add_ns"] / clock_ns) + (rf - 1)
    bram = 0
    if resource and codes.size * w.width > 18 * 1024 * rf:  # large weight arrays go to BRAM
        bram = math.ceil(codes.size * w.width / (36 * 1024))
    if layer["class"].startswith("Conv") and layer["io_type"] == "io_stream":
        pixels = int(layer.get("out_height", 1)) * int(layer.get("out_width", 1))
        interval = pixels * rf
        cycles = cycles + interval
    else:
        interval = rf
    return {"DSP": dsp, "LUT": lut, "BRAM_18K": bram, "cycles": cycles, "interval": interval, "multiplications": int(n_terms)}


def _elementwise(layer: dict, clock_ns: float, c: dict) -> dict:
    n = int(np.prod(layer["output_shape"]))
    width = Fixed.parse(layer.get("input", layer["result"])).width
    if layer["class"] == "Softmax":
        return {"DSP": n, "LUT": n * width * 2.0, "BRAM_18K": c["bram_per_softmax"], "cycles": 4 + math.ceil(math.log2(n + 1)), "interval": 1}
    per = 0.5 if "Activation" in layer["class"] or "ReLU" in layer["class"] else 1.0
    if "Pool" in layer["class"]:
        n *= int(layer.get("pool_height", 2)) * int(layer.get("pool_width", 2))
    return {"DSP": 0, "LUT": n * width * per, "BRAM_18K": 0, "cycles": 1, "interval": 1}


ZERO_COST = ("Input", "Reshape", "Transpose", "Flatten")


def estimate(layers: list[dict], weights: dict[str, np.ndarray], clock_ns: float, coefficients: dict | None = None, mul_impl: str = "auto") -> dict:
    """Resources and latency of a described hls4ml design (see :func:`hlsnake.hls.describe`)."""
    c = {**COEFFICIENTS, **(coefficients or {})}
    per_layer = []
    for layer in layers:
        if layer["class"] in ZERO_COST:
            continue
        if layer["name"] in weights:
            cost = _matmul(layer, weights[layer["name"]], clock_ns, c)
        else:
            cost = _elementwise(layer, clock_ns, c)
        cost["FF"] = cost["LUT"] * c["ff_per_lut"] + 64 * cost["DSP"]
        per_layer.append({"name": layer["name"], "class": layer["class"], **cost})
    total = {key: sum(p[key] for p in per_layer) for key in ("DSP", "LUT", "FF", "BRAM_18K", "cycles")}
    return {
        "source": "estimate",
        "estimator_version": VERSION,
        "DSP": int(total["DSP"]),
        "LUT": int(round(total["LUT"])),
        "FF": int(round(total["FF"])),
        "BRAM_18K": int(total["BRAM_18K"]),
        "URAM": 0,
        "latency_cycles": int(total["cycles"]),
        "latency_ns": float(total["cycles"] * clock_ns),
        "interval": int(max((p["interval"] for p in per_layer), default=1)),
        "clock_ns": float(clock_ns),
        "layers": per_layer,
    }
