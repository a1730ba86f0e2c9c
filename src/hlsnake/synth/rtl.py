"""The exact fixed-point arithmetic of a QKeras network, traced with da4ml into RTL.

da4ml 0.6 traces HGQ2 (Keras 3) models itself but has no QKeras plugin, so the trace is
built here with its functional API (``da4ml.trace``): the input is a fixed-point vector
of the hls4ml input type; a QDense/QConv2D becomes a constant-matrix product with its
quantised weights (da4ml's CMVM solver turns it into shift-and-add trees, no DSPs) plus
the quantised bias; a ``quantized_relu(bits, integer)`` becomes ReLU, rounding and
saturation exactly as QKeras computes it. Sums are kept at full precision, so the traced
design computes the QKeras forward pass bit for bit (checked on the test set). The
final softmax is left out: the RTL outputs the logits, and the class is their argmax.

This module also provides the ``da4ml`` backend: da4ml's own LUT/FF estimate of the
traced design, without running a synthesis tool.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from ..failures import DesignFailed
from ..fixed import Fixed
from ..artifacts import METRICS_FILE, MODEL_FILE, read_metrics
from .base import Backend, SynthJob, SynthesisTimeout, ToolFailed, ToolTimeout, register, run_tool  # noqa: F401  (the tool errors are rtl's too)

TOP = "net"  # name of the generated top module


# Design failures (recorded with their reason by the workflow, see hlsnake.failures):


class NotQuantised(DesignFailed):
    """The design computes in floating point: there is no fixed-point trace of it."""


class UnsupportedLayer(DesignFailed):
    pass


class NotBitExact(DesignFailed):
    """The traced design disagrees with the QKeras model beyond the configured threshold."""


# -- the input port --------------------------------------------------------------------


@dataclass(frozen=True)
class PortType:
    """The design's input type, with how hls4ml rounds and saturates values into it."""

    fixed: Fixed
    rounding: str = "TRN"  # or RND (ties up): da4ml's and ap_fixed's common modes
    overflow: str = "WRAP"  # or SAT

    @classmethod
    def parse(cls, text: str) -> "PortType":
        fields = text.split("<", 1)[-1].rstrip("> ").split(",")  # width, integer[, rounding[, overflow]]
        modes = [m.strip().upper() for m in fields[2:]]
        rounding = modes[0] if modes else "TRN"  # ap_fixed's defaults
        overflow = modes[1] if len(modes) > 1 else "WRAP"
        if rounding not in ("TRN", "RND") or overflow not in ("WRAP", "SAT"):
            raise UnsupportedLayer(f"input type {text}: only TRN/RND rounding and WRAP/SAT overflow can be traced")
        return cls(Fixed.parse(text), rounding, overflow)

    def quantise(self, X: np.ndarray) -> np.ndarray:
        """Values as the input port holds them."""
        from da4ml.trace.ops import _quantize

        k = int(self.fixed.signed)
        return _quantize(np.asarray(X, dtype=np.float64), k, self.fixed.integer - k, self.fixed.fractional, self.overflow, self.rounding)

    def __str__(self) -> str:
        return f"{self.fixed} ({self.rounding}, {self.overflow})"


def input_type(job: SynthJob, input_name: str) -> PortType:
    """The hls design's input type: the one the automatic hls task chose (in the hls
    stage's metrics.json), else ``hls.default_precision`` (hls4ml's default for inputs)."""
    hls_dir = Path(job.hls_dir)
    chosen = (read_metrics(hls_dir).get("precisions") or {}) if (hls_dir / METRICS_FILE).is_file() else {}
    return PortType.parse(chosen.get(input_name, job.hls["default_precision"]))


# -- tracing ---------------------------------------------------------------------------


def check_quantised(model) -> None:
    """Raise :class:`NotQuantised`, naming the layer, when any arithmetic is floating point."""
    from qkeras import QActivation, QConv2D, QDense

    from ..kerasenv import keras

    for layer in model.layers:
        float_layer = isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)) and not isinstance(layer, (QDense, QConv2D))
        if isinstance(layer, (QDense, QConv2D)):
            float_layer = layer.kernel_quantizer_internal is None or (layer.use_bias and layer.bias_quantizer_internal is None)
        if isinstance(layer, keras.layers.Activation) and not isinstance(layer, QActivation):
            float_layer = layer.get_config()["activation"] not in ("linear", "softmax")
        if isinstance(layer, QActivation) and not hasattr(layer.activation, "bits"):
            float_layer = True
        if float_layer:
            raise NotQuantised(
                f"the design is not quantised: layer {layer.name!r} ({type(layer).__name__}) computes in floating "
                "point, and the RTL backends (yosys, da4ml) trace fixed-point arithmetic; quantise the design "
                "first (add a quantize step to its flow)"
            )


def _round_half_even(v, f: int):
    """``v`` rounded to ``f`` fractional bits, ties to even, as QKeras' ``tf.round`` does.

    da4ml only truncates (or rounds ties up), so: add half an output step less one input
    ulp, plus one ulp when the bit that becomes the result's LSB is set, and truncate.
    A tie then lands on the even neighbour; every other value rounds to nearest."""
    from da4ml.trace import FixedVariable

    if v.low == v.high:  # a constant (e.g. the bias of a fully pruned neuron)
        return FixedVariable.from_const(float(np.round(float(v.low) * 2.0**f) / 2.0**f), hwconf=v.hwconf)
    in_frac = v.kif[2]
    if in_frac <= f:
        return v  # already on the output grid
    ulp = 2.0**-in_frac
    lsb = v.quantize(0, 1 - f, f)  # the bit of weight 2^-f, as 0 or 2^-f
    return v + (2.0 ** (-f - 1) - ulp) + lsb * (ulp * 2.0**f)


def _quantized_relu(x, quantizer, where: str):
    """QKeras ``quantized_relu(bits, integer)``: round half to even to ``bits - integer``
    fractional bits, then clip to [0, 2^integer - 2^-f] (saturating, never wrapping)."""
    from da4ml.trace import FixedVariableArray

    if quantizer.use_sigmoid or quantizer.negative_slope or quantizer.use_stochastic_rounding or not quantizer.is_quantized_clip:
        raise UnsupportedLayer(f"{where}: {quantizer} (sigmoid, leaky, stochastic or unclipped ReLU) cannot be traced")
    bits, integer = int(quantizer.bits), int(quantizer.integer)
    f = bits - integer
    rounded = [_round_half_even(v, f) for v in x._vars.ravel()]
    x = FixedVariableArray(np.array(rounded).reshape(x.shape), x.solver_options, hwconf=x.hwconf)
    return np.minimum(x.relu(f=f), 2.0**integer - 2.0**-f)


def _activation(x, activation, where: str):
    from qkeras import quantized_relu

    if isinstance(activation, quantized_relu):
        return _quantized_relu(x, activation, where)
    if getattr(activation, "__name__", "") == "linear":
        return x
    raise UnsupportedLayer(f"{where}: activation {activation} cannot be traced (only quantized_relu)")


def _weights(layer, where: str):
    """Kernel and bias as the QKeras layer uses them (quantised), in float64 (exact)."""
    kernel_q, bias_q = layer.get_quantizers()
    weights = layer.get_weights()
    kernel = np.asarray(kernel_q(weights[0]), dtype=np.float64)
    bias = np.asarray(bias_q(weights[1]), dtype=np.float64) if layer.use_bias else np.zeros(1)
    for values in (kernel, bias):
        # a non-power-of-two scale (quantized_bits alpha != 1) leaves values off any binary grid
        if not np.array_equal(values, np.round(values * 2.0**24) / 2.0**24):
            raise UnsupportedLayer(f"{where}: its quantised weights are not fixed-point numbers (use alpha=1)")
    return kernel, bias


def _windows(x, size: tuple[int, int], strides: tuple[int, int]):
    """The (out_h, out_w, kh*kw*c) patches of a (h, w, c) array, row-major as Keras orders them."""
    (kh, kw), (sh, sw) = size, strides
    out_h, out_w = (x.shape[0] - kh) // sh + 1, (x.shape[1] - kw) // sw + 1
    rows = [[x[i * sh : i * sh + kh, j * sw : j * sw + kw, :].ravel() for j in range(out_w)] for i in range(out_h)]
    return np.stack([np.stack(row) for row in rows])


def _check_valid(layer, where: str) -> None:
    cfg = layer.get_config()
    if cfg.get("padding", "valid") != "valid" or tuple(cfg.get("dilation_rate", (1, 1))) != (1, 1):
        raise UnsupportedLayer(f"{where}: only padding='valid' without dilation can be traced")


def trace_model(model, port: PortType):
    """(inputs, logits) of ``model`` as da4ml symbolic arrays; the input is of type ``port``."""
    from da4ml.trace import FixedVariableArray
    from qkeras import QActivation, QConv2D, QDense

    from ..kerasenv import keras

    check_quantised(model)
    shape = tuple(int(v) for v in model.input_shape[1:])
    fx = port.fixed
    kif = [np.full(shape, v, dtype=np.int8) for v in (int(fx.signed), fx.integer - int(fx.signed), fx.fractional)]
    inputs = FixedVariableArray.from_kif(*kif)
    layers = list(model.layers)
    if layers and isinstance(layers[-1], keras.layers.Activation) and layers[-1].get_config()["activation"] == "softmax":
        layers = layers[:-1]  # the RTL outputs logits: argmax needs no softmax
    x = inputs
    for layer in layers:
        where = f"layer {layer.name!r} ({type(layer).__name__})"
        if isinstance(layer, QDense):
            kernel, bias = _weights(layer, where)
            x = _activation(x @ kernel + bias, layer.activation, where)
        elif isinstance(layer, QConv2D):
            _check_valid(layer, where)
            kernel, bias = _weights(layer, where)
            patches = _windows(x, kernel.shape[:2], layer.strides)
            x = _activation(patches @ kernel.reshape(-1, kernel.shape[-1]) + bias, layer.activation, where)
        elif isinstance(layer, QActivation):
            x = _activation(x, layer.activation, where)
        elif isinstance(layer, keras.layers.MaxPooling2D):
            _check_valid(layer, where)
            windows = _windows(x, layer.pool_size, layer.strides)
            x = np.amax(windows.reshape(*windows.shape[:2], -1, x.shape[-1]), axis=2)
        elif isinstance(layer, keras.layers.Flatten):
            x = x.ravel()
        elif isinstance(layer, (keras.layers.InputLayer, keras.layers.Dropout)):
            continue
        elif isinstance(layer, keras.layers.Activation) and layer.get_config()["activation"] == "linear":
            continue
        else:
            raise UnsupportedLayer(f"{where} cannot be traced to RTL (QDense, QConv2D, QActivation(quantized_relu), MaxPooling2D, Flatten)")
    return inputs, x


# -- the design: combinational trace and its pipeline ----------------------------------


@dataclass(frozen=True)
class TracedDesign:
    comb: object  # da4ml CombLogic: the whole network, run by da4ml's bit-exact interpreter
    pipeline: object  # da4ml Pipeline: the same logic cut into register stages
    port: PortType
    clock_ns: float

    @property
    def latency_cycles(self) -> int:
        """Clock edges from the one that samples an input to the one that presents its logits."""
        return len(self.pipeline.solutions)

    def predict(self, Xq: np.ndarray) -> np.ndarray:
        return self.comb.predict(np.asarray(Xq, dtype=np.float64).reshape(len(Xq), -1), n_threads=1)


def build(model, port: PortType, clock_ns: float, adder_delay_ns: float) -> TracedDesign:
    """Trace ``model`` and pipeline it with as many adder levels per stage as fit in a clock
    period (da4ml counts delay in adder levels; ``adder_delay_ns`` converts)."""
    from da4ml.trace import comb_trace, to_pipeline

    levels = clock_ns / adder_delay_ns
    if levels < 1:
        raise ValueError(
            f"hls.clock_period {clock_ns} ns is shorter than one adder (synth.rtl.adder_delay_ns {adder_delay_ns} ns)"
        )
    inputs, logits = trace_model(model, port)
    comb = comb_trace(inputs, logits)
    return TracedDesign(comb, to_pipeline(comb, levels, verbose=False), port, float(clock_ns))


# -- bit-exactness against QKeras -------------------------------------------------------


def qkeras_logits(model, X: np.ndarray) -> np.ndarray:
    """The QKeras model's outputs before a final softmax (what the RTL computes)."""
    from ..kerasenv import keras

    last = model.layers[-1]
    if isinstance(last, keras.layers.Activation) and last.get_config()["activation"] == "softmax":
        model = keras.Model(model.inputs, model.layers[-2].output)
    return model.predict(X, batch_size=1024, verbose=0).reshape(len(X), -1)


def compare(design: TracedDesign, model, X: np.ndarray, y: np.ndarray, min_agreement: float) -> dict:
    """da4ml's simulation of the traced design against QKeras on the same quantised inputs.

    Both see the inputs as the input port holds them; the logits are compared. The design
    fails (:class:`NotBitExact`) when the argmax agreement is below ``min_agreement``."""
    Xq = design.port.quantise(X)
    ours = design.predict(Xq)
    ref = qkeras_logits(model, Xq.astype(np.float32))
    diff = np.abs(ours - ref)
    result = {
        "compared": f"logits before softmax on {len(X)} test samples, inputs quantised to {design.port}",
        "exact": bool(np.all(diff == 0)),
        "mismatched_outputs": int(np.count_nonzero(diff)),
        "max_abs_diff": float(diff.max()),
        "argmax_agreement": float(np.mean(ours.argmax(axis=1) == ref.argmax(axis=1))),
        "accuracy": float(np.mean(ours.argmax(axis=1) == y)),
        "qkeras_accuracy": float(np.mean(ref.argmax(axis=1) == y)),
        "n_test": int(len(X)),
    }
    if result["argmax_agreement"] < min_agreement:
        raise NotBitExact(
            f"the traced RTL disagrees with the QKeras model: argmax agreement {result['argmax_agreement']:.4f} "
            f"< synth.rtl.min_agreement {min_agreement} ({result['mismatched_outputs']} of {ours.size} logits differ, "
            f"max |diff| {result['max_abs_diff']:.6g}; accuracy {result['accuracy']:.4f} vs QKeras {result['qkeras_accuracy']:.4f})"
        )
    return result


# -- Verilog, and its check with Icarus Verilog ----------------------------------------


def write_verilog(design: TracedDesign, out_dir: Path, part: str) -> Path:
    """The pipelined Verilog project (``rtl/src``); returns the ``rtl`` directory."""
    from da4ml.codegen import RTLModel

    rtl_dir = Path(out_dir) / "rtl"
    shutil.rmtree(rtl_dir, ignore_errors=True)  # no stale stage files from an earlier run
    RTLModel(design.pipeline, TOP, rtl_dir, flavor="verilog", clock_period=design.clock_ns, part_name=part).write()
    return rtl_dir


def verilog_sources(rtl_dir: Path) -> list[Path]:
    src = Path(rtl_dir) / "src"
    return sorted((src / "static").glob("*.v")) + sorted(src.glob("*.v"))


_TESTBENCH = """`timescale 1ns/1ps
module tb;
  reg clk = 0;
  reg [{w_in}-1:0] vectors [0:{n}-1];
  reg [{w_in}-1:0] x = 0;
  wire [{w_out}-1:0] y;
  integer t, fd;
  {top}_wrapper dut (.clk(clk), .model_inp(x), .model_out(y));
  initial begin
    $readmemh("inputs.hex", vectors);
    fd = $fopen("outputs.hex", "w");
    for (t = 0; t < {n} + {latency}; t = t + 1) begin
      x = vectors[t < {n} ? t : {n} - 1];
      #1 clk = 1;
      #1 clk = 0;
      $fdisplay(fd, "%h", y);
    end
    $fclose(fd);
    $finish;
  end
endmodule
"""


def _port_layout(qints) -> tuple[int, int, int]:
    """(width per value, fractional bits, signed) of da4ml's uniform-width wrapper port."""
    from da4ml.types import minimal_kif

    k, i, f = (max(values) for values in zip(*map(minimal_kif, qints)))
    return int(k) + int(i) + int(f), int(f), int(k)


def simulate_verilog(design: TracedDesign, rtl_dir: Path, Xq: np.ndarray, timeout: float) -> dict:
    """Run the generated Verilog with Icarus Verilog on ``Xq`` (one vector per clock) and
    compare every output with da4ml's simulation; raise :class:`NotBitExact` on a mismatch."""
    if not (shutil.which("iverilog") and shutil.which("vvp")):
        return {"checked": False, "reason": "iverilog/vvp not installed (Debian package iverilog)"}
    pipe, n = design.pipeline, len(Xq)
    w_in, f_in, _ = _port_layout(pipe.inp_qint)
    w_out, f_out, signed_out = _port_layout(pipe.out_qint)
    n_in, n_out = pipe.shape
    sim_dir = Path(rtl_dir) / "iverilog"
    sim_dir.mkdir(parents=True, exist_ok=True)
    codes = np.floor(Xq.reshape(n, -1).astype(np.float64) * 2.0**f_in).astype(np.int64) % (1 << w_in)
    with open(sim_dir / "inputs.hex", "w") as fh:
        for row in codes:
            fh.write(f"{sum(int(c) << (w_in * j) for j, c in enumerate(row)):x}\n")
    (sim_dir / "tb.v").write_text(
        _TESTBENCH.format(w_in=w_in * n_in, w_out=w_out * n_out, n=n, latency=design.latency_cycles, top=TOP)
    )
    start = time.time()
    sources = [str(p.resolve()) for p in verilog_sources(rtl_dir)]
    run_tool(["iverilog", "-g2012", "-s", "tb", "-o", "tb.vvp", "tb.v", *sources], sim_dir, timeout, "Icarus Verilog (iverilog)")
    run_tool(["vvp", "-n", "tb.vvp"], sim_dir, timeout, "Icarus Verilog simulation (vvp)")
    lines = (sim_dir / "outputs.hex").read_text().split()[design.latency_cycles : design.latency_cycles + n]
    if len(lines) != n or any(set(line) & set("xXzZ") for line in lines):
        raise NotBitExact(f"the generated Verilog gave {len(lines)} outputs for {n} vectors, or undefined (x/z) bits ({sim_dir})")
    words = [int(line, 16) for line in lines]
    raw = np.array([[(w >> (w_out * j)) & ((1 << w_out) - 1) for j in range(n_out)] for w in words], dtype=np.int64)
    if signed_out:
        raw = np.where(raw >= 1 << (w_out - 1), raw - (1 << w_out), raw)
    verilog = raw * 2.0**-f_out
    expected = design.predict(Xq)
    mismatched = int(np.count_nonzero(verilog != expected))
    if mismatched:
        raise NotBitExact(
            f"the generated Verilog disagrees with da4ml's simulation on {mismatched} of {expected.size} outputs "
            f"({n} vectors, Icarus Verilog, {sim_dir})"
        )
    return {"checked": True, "simulator": "iverilog", "vectors": n, "mismatched_outputs": 0, "seconds": time.time() - start}


# -- the steps both backends share, and the da4ml backend ------------------------------


def trace_job(job: SynthJob) -> tuple[TracedDesign, dict, np.ndarray]:
    """Load the design's QKeras model, trace it, and check it against QKeras on the test
    split. Returns the design, the check (with its timing), and the test inputs as the
    input port holds them."""
    from ..data import Split
    from ..kerasenv import load_model

    cfg = job.synth["rtl"]
    start = time.time()
    model = load_model(Path(job.model_dir) / MODEL_FILE)
    port = input_type(job, model.input_names[0])
    design = build(model, port, float(job.hls["clock_period"]), float(cfg["adder_delay_ns"]))
    traced = time.time()
    X, y = Split(job.data_path).xy("test", model.input_shape[1:])
    check = compare(design, model, X, y, float(cfg["min_agreement"]))
    check.update(trace_seconds=traced - start, check_seconds=time.time() - traced)
    return design, check, port.quantise(X)


def record(design: TracedDesign, source: str, resources: dict, **extra) -> dict:
    """A resources record with the fields of ``synth/estimate.py``'s, plus ``extra``."""
    return {
        "source": source,
        "da4ml_version": metadata.version("da4ml"),
        **{key: int(resources.get(key, 0)) for key in ("DSP", "LUT", "FF", "BRAM_18K", "URAM")},
        "latency_cycles": design.latency_cycles,
        "latency_ns": design.latency_cycles * design.clock_ns,
        "interval": 1,  # fully pipelined: a new input every clock
        "clock_ns": design.clock_ns,
        "da4ml_estimate": da4ml_cost(design),
        **extra,
    }


def da4ml_cost(design: TracedDesign) -> dict:
    """da4ml's cost model: LUTs from the adder bits, FFs from the pipeline registers."""
    return {"LUT": int(round(design.pipeline.cost)), "FF": int(design.pipeline.reg_bits)}


def run_da4ml(job: SynthJob) -> dict:
    """da4ml's own estimate of the traced design, without a synthesis tool."""
    design, check, _ = trace_job(job)
    return record(design, "da4ml", da4ml_cost(design), note="da4ml's cost model, not a synthesis result", bit_exact=check)


def da4ml_missing() -> str | None:
    try:
        metadata.version("da4ml")
    except metadata.PackageNotFoundError:
        return "needs the Python package da4ml (pip install da4ml), and it is not installed"
    return None


register(Backend("da4ml", run_da4ml, describe="da4ml's estimate of the traced RTL (seconds, no tool)", extra_check=da4ml_missing))
