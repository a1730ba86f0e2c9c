"""Resource and latency estimate of an hls4ml design, without any vendor tool.

It follows what the HLS tools do with hls4ml's code, term by term (the rules were read
off the per-instance tables of real Vivado/Vitis HLS reports; docs/estimator.md):

* **Multiplications.** Every weight is a constant. A zero costs nothing, a power of two is
  a shift. A constant with fewer than ``mult_min_digits`` non-zero digits in canonical
  signed-digit (CSD) form becomes shift-and-add logic; the others are true
  multiplications: on DSPs when the data and weight types are wide enough (thresholds per
  tool family; ``config_op mul -impl`` can force either), in LUTs otherwise. An input
  multiplied by the same constant for several outputs is one product. A DSP takes
  a 26x17-bit product: wider ones take several (a 32-bit input x a 17-bit constant: 2).
  A reuse factor R caps the true multiplications at hls4ml's ``multiplier_limit``. The
  Resource strategy with R > 1 keeps the weights in a ROM (BRAM when R >= 8) and uses
  ceil(n/R) general multipliers, with the multiplexers of hls4ml's loop structure (R <= n_in,
  R a multiple of n_in, other R). ``config_op mul -impl fabric`` makes every true
  multiplication a LUT multiplier core as wide as its operands. In a pruned io_parallel
  network, an output whose weights are all zero is a constant: the activation of it costs
  nothing.
* **Latency from the schedule.** Each layer is a chain of operations with a delay
  (the multiplier: DSP or fabric; ceil(log2 n) adder levels of the non-zero products of
  an output; an activation; table lookups): the tool packs the chain into clock cycles of
  (clock - uncertainty), and puts registers between layers. Delays are in ns on an
  UltraScale+ part, scaled for 7-series and UltraScale parts. io_stream designs are
  dataflow pipelines: the slowest layer (pixels x its interval) plus every layer's fill;
  an io_parallel dataflow top (hls4ml's PipelineStyle) hands over between its processes.
* **Registers.** The flip-flops are the pipeline registers of that same schedule: its
  cycle boundaries placed where they hold the fewest bits (a scheduler that minimises
  registers), each holding the bits alive there (the products made in LUTs, the partial
  sums at that adder level); a product on a DSP is registered inside the DSP (no
  flip-flops; 7-series reports count them); a layer with an interval II > 1 (a reuse
  factor) shares one register between boundaries in different cycles mod II; a softmax
  registers its values at every cycle; a pipelined layer registers its output; the top
  function its input, and the outputs where a run of layers of no latency of their own
  (io_parallel) is longer than the period. Plus line buffers and FIFOs of io_stream designs.
* **LUTs, BRAM**: adders as wide as the sums (per tool family), LUT multipliers,
  activation and pooling logic per element and bit (per tool family; rounding and
  saturation only where a conversion drops bits), the index of each table lookup, window
  selection, FIFOs (BRAM when deep), weight ROMs, tables.

The coefficients are fitted per tool family (Vivado HLS <= 2020.1, Vitis HLS >= 2020.2)
on real reports by ``tools/calibrate_estimator.py``, which also measures the error of
every metric leave-one-network-out and stores both in ``estimate_calibration.json``
beside this module. Every output says ``"source": "estimate"`` and carries that
validated error (``error_pct``, ``error_basis``).
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..artifacts import load_description
from ..fixed import Fixed
from .base import Backend, SynthJob, register

VERSION = "0.6"

CALIBRATION_FILE = Path(__file__).with_name("estimate_calibration.json")
_CALIBRATION = json.loads(CALIBRATION_FILE.read_text())
# "shared" by both tool families (what the logic costs), or per family (what each tool's
# scheduler and binder decide): name -> value
COEFFICIENTS: dict = _CALIBRATION["coefficients"]
ERRORS: dict = _CALIBRATION["errors"]  # tool family -> metric -> median abs % error (validated)
ERROR_BASIS: dict = _CALIBRATION["basis"]  # tool family -> what the errors are

# hls4ml backend (config key hls.backend) -> the HLS tool family that synthesises its projects
TOOLS = {"Vitis": "vitis_hls", "Vivado": "vivado_hls", "vitis_hls": "vitis_hls", "vivado_hls": "vivado_hls"}
# hls4ml's default clock uncertainty per backend (build_prj.tcl)
DEFAULT_UNCERTAINTY = {"vivado_hls": 0.125, "vitis_hls": 0.27}
METRICS = ("LUT", "FF", "DSP", "BRAM_18K", "latency_cycles", "interval")
# BRAM18K shapes (depth, width): a memory takes the cheapest tiling
_BRAM_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))


def family_coefficients(tool: str, coefficients: dict | None = None) -> dict:
    """The coefficients one tool family uses: the shared ones and its own."""
    coefficients = coefficients or COEFFICIENTS
    return {**coefficients.get("shared", {}), **coefficients.get(TOOLS[tool], {})}


def device_class(part: str | None) -> str:
    """The speed class of an FPGA part: ``7series`` (xc7...), ``ultrascale`` (xcku0/xcvu0
    without the '+'), else ``ultrascale_plus`` (also when the part is unknown)."""
    part = (part or "").lower()
    if part.startswith("xc7"):
        return "7series"
    if re.match(r"xc(ku|vu)0\d\d", part):
        return "ultrascale"
    return "ultrascale_plus"


# -- weight statistics (the expensive part, independent of the coefficients) --------------------


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


@dataclass
class Constants:
    """The non-zero constants of a layer's weights: CSD digits and significant bits of each
    odd part, which products repeat another (the same input times the same constant), and
    the most non-zero products summed into one output."""

    n: int  # weights, zeros included
    digits: np.ndarray
    bits: np.ndarray  # significant bits of the odd part, sign included
    per_output: int  # the most non-zero products of one output (its adder tree)
    distinct: np.ndarray | None = None  # (bool, per non-zero constant) the first product of its input and constant

    @classmethod
    def of(cls, values: np.ndarray, precision: Fixed, n_out: int, elementwise: bool = False) -> "Constants":
        """``elementwise``: one product per element, each of its own input (a BatchNorm)."""
        codes = np.round(np.asarray(values, dtype=np.float64) * 2.0**precision.fractional).astype(np.int64)
        flat = codes.ravel()
        odd = _odd_parts(flat[flat != 0])
        bits = np.floor(np.log2(np.maximum(odd, 1))).astype(np.int64) + 2
        grid = flat.reshape(-1, n_out) if n_out and flat.size % n_out == 0 else flat.reshape(-1, 1)
        per_output = int((grid != 0).sum(axis=0).max()) if grid.size else 0
        return cls(int(flat.size), csd_digits(odd), bits, per_output, None if elementwise else _first_products(grid))


def _first_products(grid: np.ndarray) -> np.ndarray:
    """Per non-zero weight (row-major order of ``grid``: a row per input, a column per
    output), whether it is the first of its row with that value: an input multiplied by
    the same constant for several outputs is one product, which the tools compute once
    (common subexpressions). Evidence: the DSPs of Vitis HLS's forced-DSP jet MLP are the
    distinct (input, signed constant) pairs exactly, 247/275/202/85 for 296/294/210/85
    products, and the 10-64 QKeras Dense's 38 (75 products); Vivado HLS's 4-128 iris
    layer 354 (358 distinct of 395). A negated constant is another product (-c: 881 for
    the float jet MLP's first layer where |c| gives 865; the report has 878)."""
    rows, cols = np.nonzero(grid)  # row-major, as the non-zero constants are listed
    pairs = np.stack([rows, grid[rows, cols]], axis=1)
    first = np.zeros(len(pairs), dtype=bool)
    if len(pairs):
        first[np.unique(pairs, axis=0, return_index=True)[1]] = True
    return first


def dsp_per_product(a: int, b: int) -> int:
    """DSP48 slices for an a x b-bit product (one slice: 26 x 17 bits unsigned)."""
    a, b = max(a, b), min(a, b)
    return min(math.ceil(a / 26) * math.ceil(b / 17), math.ceil(a / 17) * math.ceil(b / 26))


def bram_18k(depth: int, width: int) -> int:
    """BRAM18K blocks for a memory of ``depth`` words of ``width`` bits."""
    if depth <= 0 or width <= 0:
        return 0
    return min(math.ceil(depth / d) * math.ceil(width / w) for d, w in _BRAM_SHAPES)


# -- the cost of one layer ----------------------------------------------------------------------


@dataclass
class Op:
    """One step of a layer's combinational chain: its delay (in units of the family's
    delay coefficients: ``kind`` names the coefficient) and the bits alive after it."""

    kind: str  # delay coefficient: add, dsp, act
    count: float  # how many such delays in a row
    live: dict = field(default_factory=dict)  # bits held if a register falls after this step, per FF coefficient

    @classmethod
    def holding(cls, kind: str, count: float, bits: float, term: str = "ff_pipeline_bit") -> "Op":
        return cls(kind, count, {term: float(bits)} if bits else {})

    def scaled(self, factor: float) -> "Op":
        return Op(self.kind, self.count, {term: bits * factor for term, bits in self.live.items()})


@dataclass
class LayerCost:
    name: str
    kind: str
    dsp: int = 0
    terms: dict = field(default_factory=lambda: {"LUT": {}, "FF": {}, "BRAM_18K": {}})
    chain: list = field(default_factory=list)  # list[Op]: the combinational path of one item
    fixed: dict = field(default_factory=dict)  # cycles not from the chain: coefficient name -> count
    items: int = 1  # items processed one after the other (pixels of a stream, output positions)
    step: float = 1.0  # cycles per item from sharing the multipliers (reuse factor)
    stream_mode: str = ""  # io_stream convolution: 'latency' or 'resource' (sets its interval per pixel)
    fill_items: int = 0  # items read before the first output (io_stream line buffers)
    extra_cycles: float = 0.0  # cycles after the last item (an io_stream Dense computes once it has read its input)
    busy: bool = False  # not pipelined: the next input waits for the layer's whole latency (recurrent layers)
    min_run: float = 0.0  # cycles from one input to the next at least (an io_stream Dense's pipeline interval, R)
    output_bits: float = 0.0  # bits of the layer's output (a register between layers)
    stage_bits: float = 0.0  # bits registered at every cycle of the layer's latency (ff_stage_bit; a softmax's values)
    multiplications: int = 0

    def add(self, metric: str, term: str, amount: float) -> None:
        if amount:
            self.terms[metric][term] = self.terms[metric].get(term, 0.0) + float(amount)

    def wait(self, coefficient: str, count: float = 1) -> None:
        self.fixed[coefficient] = self.fixed.get(coefficient, 0.0) + count

    def interval(self, c: dict) -> float:
        """Cycles between two items."""
        if self.stream_mode == "resource":
            return self.step + c["stream_resource_ii"]
        if self.stream_mode == "latency":
            return max(self.step, c["stream_conv_ii"])
        return self.step


@dataclass
class Context:
    """What every layer's cost needs beyond the layer itself."""

    c: dict  # the tool family's coefficients
    mul_impl: str
    stream: bool
    device: str = "ultrascale_plus"  # the part's class (device_class)


_fixed = functools.lru_cache(maxsize=None)(Fixed.parse)  # the same few types, parsed very often


def _bits(layer: dict, key: str, default: str = "fixed<16,6>") -> int:
    return _fixed(layer.get(key) or layer.get("result") or default).width


def _quantises(layer: dict) -> tuple[bool, bool]:
    """Whether assigning a layer's input to its result type rounds (an RND... type with fewer
    fractional bits) and saturates (a SAT... type with fewer integer bits): both cost logic;
    a conversion that drops no bits costs none, whatever the type's modes."""
    text = layer.get("result") or ""
    source, target = _fixed(layer.get("input") or text or "fixed<16,6>"), _fixed(text or "fixed<16,6>")
    magnitude = lambda t: t.integer - (1 if t.signed else 0)  # noqa: E731
    rounds = bool(re.search(r",\s*RND", text)) and target.fractional < source.fractional
    saturates = bool(re.search(r",\s*SAT", text)) and magnitude(target) < magnitude(source)
    return rounds, saturates


def _stream_pixels(shape: list) -> int:
    return int(np.prod(shape[:-1])) if len(shape) > 1 else 1


def _n_out(layer: dict, values: np.ndarray) -> int:
    """Outputs of a weighted layer (its weights' last axis): each sums its own products."""
    if layer["class"] == "BatchNormalization":  # one product per element
        return int(values.size)
    candidates = ("n_chan",) if layer["class"].startswith("DepthwiseConv") else ("n_out", "n_filt")
    found = next((int(layer[k]) for k in candidates if int(layer.get(k) or 0) > 0), int(layer["output_shape"][-1]))
    return found if found > 0 and values.size % found == 0 else 1


def _adder_levels(terms: int) -> int:
    """Adder-tree depth of ``terms`` products plus the bias."""
    return math.ceil(math.log2(max(terms, 0) + 1)) if terms > 0 else 0


def _dsp_bound(ctx: Context, x_bits: int, w_bits: int) -> bool:
    """Whether a layer's true multiplications go on DSPs: all or none, by the widths of the
    types (the tools bind the product of the declared types, whatever the constant's value:
    Vivado HLS 2019.2 put the 5-significant-bit constants of the float jet MLP, ap_fixed<16,6>,
    on DSPs, 881 distinct products for 878 DSPs, and kept the L1 tagger's 16 x 8-bit ones
    in LUTs); ``config_op mul -impl`` forces either."""
    if ctx.mul_impl in ("dsp", "fabric"):
        return ctx.mul_impl == "dsp"
    return x_bits >= ctx.c["dsp_min_input_bits"] and w_bits >= ctx.c["dsp_min_weight_bits"]


def _mux(k: int) -> float:
    """LUT6s per bit of a k-to-1 multiplexer (a LUT6 selects one of 4; F7/F8 muxes combine them)."""
    return max(0, k - 1) / 3


def _resource_selection(n_in: int, rf: int, mults: int, x_bits: int, acc_bits: int) -> float:
    """Multiplexers of hls4ml's Resource strategy (nnet::dense_resource), per its three
    loop structures: with R <= n_in each multiplier reads one of R inputs, and the
    multipliers that read the same inputs share the multiplexer (n_in / R of them); with
    R > n_in all multipliers read the same one of n_in inputs and each adds into one of
    R / n_in accumulators (when R is not a multiple of n_in, each multiplier selects its
    own input too)."""
    if rf <= n_in:
        return math.ceil(n_in / rf) * x_bits * _mux(rf)
    accumulators = mults * acc_bits * _mux(rf // n_in)
    if rf % n_in:
        return mults * x_bits * _mux(n_in) + accumulators
    return x_bits * _mux(n_in) + accumulators


def _matmul(layer: dict, values: np.ndarray, ctx: Context, cost: LayerCost, constants: Constants) -> None:
    """Dense, convolution, BatchNorm (one product per element) and a recurrent layer's
    matrices: multiplications, adder trees, ROMs, and the chain of one output."""
    c = ctx.c
    batchnorm = layer["class"] == "BatchNormalization"
    # BatchNorm shares its multipliers too (nnet_batchnorm: ALLOCATION limit ceil(n_in / R), II = R;
    # the pixel CNN's 24- and 12-element BatchNorms at R = 10000: 1 DSP each, 23 and 11 cycles)
    rf = max(1, int(layer.get("reuse_factor", 1)))
    rf = min(rf, constants.n) if batchnorm else rf
    x = _fixed(layer.get("input") or layer["result"])
    w = _fixed(layer["weight"])
    acc = _fixed(layer.get("accum") or layer["result"])
    n, n_nz = constants.n, int(constants.digits.size)
    levels = _adder_levels(constants.per_output)
    # the tools trim a wide ('auto') accumulator to what the sum can need
    sum_bits = min(acc.width, x.width + w.width + levels)
    # a product repeated for several outputs (the same input and constant) is made once
    distinct = constants.distinct if constants.distinct is not None else np.ones(n_nz, dtype=bool)
    multiplies = constants.digits >= c["mult_min_digits"]  # else a shift or one adder
    true = multiplies & distinct
    cheap = (constants.digits >= 2) & ~multiplies & distinct
    shift_add = (constants.digits - 1) * (x.width + constants.bits)
    on_dsp = true & _dsp_bound(ctx, x.width, w.width)
    general = layer.get("strategy") == "resource" and rf > 1 and not batchnorm  # (R = 1: the weights are constants again)
    if general:  # weights in a ROM, general multipliers shared R times, zeros included
        mults = math.ceil(n / rf)
        dsp_mult = _dsp_bound(ctx, x.width, w.width)
        dsps = mults * dsp_per_product(x.width, w.width) if dsp_mult else 0
        cost.dsp += dsps
        cost.add("LUT", "lut_fabric_core_bit", 0 if dsp_mult else mults * x.width * w.width)  # general LUT multipliers
        cost.add("LUT", "lut_dsp_glue", dsps)
        cost.add("LUT", "lut_accumulator_bit", mults * sum_bits)  # each multiplier adds into an accumulator
        cost.add("LUT", "lut_mux_bit", _resource_selection(n // max(1, _n_out(layer, values)), rf, mults, x.width, sum_bits))
        depth, width = rf, mults * w.width
        if rf >= 8:
            cost.add("BRAM_18K", "bram_rom", bram_18k(depth, width))
        else:
            cost.add("LUT", "lut_rom_bit", depth * width / 64)
        cost.step = rf
        cost.wait("resource_cycles")
        cost.multiplications = mults
        chain_mult = [Op.holding("dsp" if dsp_mult else "add", 1 if dsp_mult else math.ceil(math.log2(max(w.width, 2))), mults * sum_bits)]
        cost.chain += chain_mult + [Op.holding("add", 1, cost.output_bits or mults * sum_bits)]
        cost.add("FF", "ff_accumulator_bit", mults * sum_bits)
        return
    true_mults = int(true.sum())
    instances = min(true_mults, max(1, math.ceil(n / rf) - (n - n_nz) // rf)) if true_mults else 0
    share = instances / true_mults if true_mults else 0.0
    dsp_products = on_dsp.sum() * share
    per_product = dsp_per_product(x.width, int(constants.bits[on_dsp].max())) if on_dsp.any() else 1
    cost.dsp += int(round(dsp_products * per_product))
    fabric = true & ~on_dsp
    if ctx.mul_impl == "fabric":  # config_op mul -impl fabric: a LUT multiplier core per multiplication, as wide as its operands
        cost.add("LUT", "lut_fabric_core_bit", float(fabric.sum()) * x.width * w.width * share)
    else:  # the tool builds a constant multiplication from shifts and adds
        cost.add("LUT", "lut_fabric_mult", float(shift_add[fabric].sum()) * share)
    cost.add("LUT", "lut_shift_add_bit", float(shift_add[cheap].sum()))
    cost.add("LUT", "lut_dsp_glue", dsp_products * per_product)
    cost.add("LUT", "lut_adder_bit", n_nz * sum_bits)
    if instances < true_mults:  # a shared multiplier steps through its products: a data and a constant operand each
        per = math.ceil(true_mults / instances)
        shared = min(instances, true_mults - instances)  # the multipliers that compute more than one product
        inputs = n if batchnorm else n // max(1, _n_out(layer, values))  # (a BatchNorm: one product per element)
        sources = min(per, max(1, inputs))  # distinct inputs on its data port
        cost.add("LUT", "lut_mux_bit", shared * (x.width * _mux(sources) + w.width * math.ceil(per / 64)))
    cost.add("FF", "ff_shared_product_bit", (true_mults - instances) * sum_bits)  # products held until summed
    cost.multiplications = true_mults
    if rf > 1 and instances:
        # (the interval follows the multiplications the unrolled loop issues, repeated ones
        # included, as 0.5 did: cardio's 33 products on 32 multipliers at R = 2 take II = 2)
        issued = int(multiplies.sum())
        cost.step = max(1, min(rf, math.ceil(issued / instances)))
    # the chain of one output: its multiplier, then its adder tree, level by level (the
    # live partial sums halve at each level)
    n_out = max(1, _n_out(layer, values))
    fabric_digits = int(constants.digits[fabric].max()) if fabric.any() else 0
    if on_dsp.any():  # a register after the products: flip-flops for those made in LUTs, and the DSPs' own (DSP_STAGE)
        dsp_bits = float(on_dsp.sum()) * (x.width + int(constants.bits[on_dsp].max()))
        made = float(distinct.sum() - on_dsp.sum()) * sum_bits  # the other products (each made once)
        cost.chain.append(Op("dsp", 1, {DSP_STAGE[ctx.device]: dsp_bits, "ff_pipeline_bit": made}))
    elif fabric_digits and x.width > 2:  # shift-and-add (a 1-2 bit input only selects the constant)
        cost.chain.append(Op.holding("add", math.ceil(math.log2(fabric_digits)), float(distinct.sum()) * sum_bits))
    per_output = max(1, constants.per_output) + 1
    for level in range(levels):
        per_output = math.ceil(per_output / 2)
        cost.chain.append(Op.holding("add", 1, n_out * per_output * sum_bits))


def _convolution_shape(layer: dict, ctx: Context, cost: LayerCost) -> None:
    """Where a convolution's outputs come from: io_stream reads one input pixel per
    interval (a line buffer holds the window); io_parallel computes the output positions
    one after another (``parallelization_factor`` at a time) and selects each window."""
    c = ctx.c
    x_bits = _bits(layer, "input")
    chans = int(layer.get("n_chan", 1))
    in_pixels = int(layer.get("in_height", 1)) * int(layer.get("in_width", 1))
    out_pixels = int(layer.get("out_height", 1)) * int(layer.get("out_width", 1))
    kh, kw = int(layer.get("filt_height", 1)), int(layer.get("filt_width", 1))
    if ctx.stream:
        cost.stream_mode = "resource" if layer.get("strategy") == "resource" else "latency"
        cost.items = in_pixels
        cost.fill_items = (kh - 1) * int(layer.get("in_width", 1)) + kw
        line = (kh - 1) * int(layer.get("in_width", 1)) * chans * x_bits if kh > 1 else 0
        cost.add("FF", "ff_window_bit", kh * kw * chans * x_bits)
        cost.add("LUT", "lut_line_buffer_bit", line)
    else:
        pf = min(out_pixels, max(1, int(layer.get("parallelization_factor", 1))))
        cost.items = math.ceil(out_pixels / pf)
        if pf > 1:  # the multipliers and adder trees of one position, pf times
            cost.dsp *= pf
            cost.multiplications *= pf
            for metric in ("LUT", "FF"):
                cost.terms[metric] = {term: amount * pf for term, amount in cost.terms[metric].items()}
            cost.chain = [op.scaled(pf) for op in cost.chain]
        cost.add("LUT", "lut_window_bit", pf * kh * kw * chans * x_bits)


def _activation_op(layer: dict, ctx: Context, cost: LayerCost, n: int) -> None:
    bits = _bits(layer, "input")
    activation = layer.get("activation", "relu")
    if activation in ("sigmoid", "tanh", "softsign", "softplus", "elu", "selu"):  # a table lookup per element
        table = int(layer.get("table_size", 1024))
        cost.add("BRAM_18K", "bram_table", math.ceil(n / 2) * bram_18k(table, 18))
        cost.add("LUT", "lut_table_index_bit", n * bits)
        # the index of each lookup: the input scaled to the table, offset and clamped to its
        # range (a sigmoid of one element: 126-150 LUTs in the L1 tagger, GRU, LSTM and
        # 10-64-32-1 MLP reports, where 16 bits of index alone gave 32)
        cost.add("LUT", "lut_table_lookup", n)
        cost.wait("table_cycles")
        cost.chain.append(Op.holding("add", 1, n * (bits + _bits(layer, "result"))))
    else:  # relu and the like: a comparison and a multiplexer per element
        cost.add("LUT", "lut_activation_bit", n * bits)
        cost.chain.append(Op.holding("act", 1, n * (bits + _bits(layer, "result"))))  # a register inside holds input and result
    rounds, saturates = _quantises(layer)
    cost.add("LUT", "lut_round_bit", n * _bits(layer, "result") if rounds else 0)  # an adder
    cost.add("LUT", "lut_saturate_bit", n * bits if saturates else 0)  # a comparison


def _softmax(layer: dict, ctx: Context, cost: LayerCost) -> None:
    """exp table per input, a sum, an inverse table, one product per output; the stable
    implementation first subtracts the maximum (a comparison tree)."""
    n = int(layer.get("n_in") or np.prod(layer["output_shape"]))
    bits = _bits(layer, "input")
    levels = _adder_levels(n)
    stable = layer.get("implementation", "stable") in ("stable", "argmax")
    cost.dsp += 0 if ctx.mul_impl == "fabric" else n
    cost.add("LUT", "lut_softmax", n)
    # forced to fabric, each exp x 1/sum product is an 18 x 18 multiplier of two variables, a
    # coefficient of its own: 366 LUTs per output in both of ArgyKokk's forced-fabric softmaxes
    # (cardio 1504 - 406 for 3 outputs, breast cancer 925 - 193 for 2: 1.13 per bit x bit),
    # where the constant multiplications of their Dense layers cost ~0.8
    cost.add("LUT", "lut_fabric_var_core_bit", n * 18 * 18 if ctx.mul_impl == "fabric" else 0)
    cost.stage_bits = n * 18  # exponentials, sum, inverse and products (18-bit tables), registered at every cycle
    table = int(layer.get("table_size", 1024))  # an exp table read per input at once (io_stream: two per block)
    cost.add("BRAM_18K", "bram_table", (math.ceil(n / 2) if ctx.stream else n) * bram_18k(table, 18))
    cost.wait("table_cycles", 2)
    if stable:  # (its registers: stage_bits)
        cost.chain += [Op("act", levels), Op("add", 1)]
    cost.chain += [Op("add", levels), Op("dsp", 1)]


def _elementwise(layer: dict, ctx: Context, cost: LayerCost, live: int | None = None) -> None:
    """Activations, pooling, padding, resizing, concatenation, cloning (``live``: the
    elements that are not constants, when some are)."""
    shape = layer["output_shape"]
    n = int(shape[-1]) if ctx.stream and len(shape) > 1 else int(np.prod(shape))
    n = n if live is None else live
    bits = _bits(layer, "input")
    klass = layer["class"]
    if "Pool" in klass:
        window = int(layer.get("pool_height", 1)) * int(layer.get("pool_width", 1))
        if klass.startswith("GlobalPooling"):
            window = int(layer.get("n_in", 1)) if not ctx.stream else 1
        cost.add("LUT", "lut_pool_bit", n * window * bits)
        cost.add("FF", "ff_pool_bit", n * window * bits if ctx.stream else 0)
        cost.chain.append(Op.holding("act", _adder_levels(window - 1) if window > 1 else 0, n * bits))
        if ctx.stream:
            in_width = int(layer.get("in_width", 1))
            cost.items = int(layer.get("in_height", 1)) * in_width if "in_height" in layer or "in_width" in layer else 1
            if klass.startswith("GlobalPooling"):
                cost.items = int(layer.get("n_in", 1))
            cost.fill_items = (int(layer.get("pool_height", 1)) - 1) * in_width + int(layer.get("pool_width", 1))
            # the rows above the window wait in a line buffer, as a convolution's do
            cost.add("LUT", "lut_line_buffer_bit", (int(layer.get("pool_height", 1)) - 1) * in_width * n * bits)
    elif klass in ACTIVATIONS:
        _activation_op(layer, ctx, cost, n)
        if ctx.stream:
            cost.items = _stream_pixels(shape)
    elif ctx.stream:  # padding, resize, concatenate, clone: a process copying pixels
        cost.add("LUT", "lut_copy_bit", n * bits)
        cost.add("FF", "ff_copy_bit", n * bits)
        cost.items = _stream_pixels(shape)
        if klass == "Resize":  # nearest-neighbour upsampling keeps an input row to repeat it
            elements = int(layer.get("in_width", 1)) * n
            # in flip-flops: the Vivado HLS reports hold 541, 1071 and 4177 FFs for rows of 512,
            # 1024 and 4096 bits (conv autoencoder), 1070 and 1104 for 1024 (float U-Net), 658
            # for 512 (4-bit U-Net)
            cost.add("FF", "ff_row_bit", elements * bits)
            # and the selection of each element written and read, whatever its width: 10-13
            # LUTs per element beyond the process (16-128 elements of 4, 16 and 32 bits: 435-1855
            # LUTs in the same reports)
            cost.add("LUT", "lut_row_element", elements)


FREE = ("Input", "InputLayer", "Reshape", "Transpose", "Flatten", "Dropout")
ACTIVATIONS = ("Activation", "ParametrizedActivation", "PReLU", "LeakyReLU", "ThresholdedReLU")


def _free(layer: dict, stream: bool) -> bool:
    """Wiring, or a cast: hls4ml keeps a linear activation after a quantised layer as a
    cast (no module in the reports); in io_parallel, padding is wiring too."""
    if layer["class"] in FREE:
        return True
    if layer["class"] == "Activation" and layer.get("activation", "relu") == "linear":
        return True
    return not stream and layer["class"] in ("ZeroPadding1D", "ZeroPadding2D", "Concatenate", "Clone")


# -- the design ----------------------------------------------------------------------------------


def _constant_outputs(layers: list[dict], weights: dict) -> dict:
    """Pruned networks (io_parallel): an output of a Dense layer whose weights are all zero
    is its bias, a constant, and the tools remove the activation of it (the iris MLP
    pruned to 75%: 1652 LUTs for the ReLU of 128 outputs, 3584 unpruned). They do not
    fold it further (the next Dense keeps its multiplications: 17 DSPs, as unpruned rows
    would give). Returns the live elements of each such activation (a chain of layers
    whose sizes match: a Sequential network)."""
    live, constant = {}, None  # constant: which elements of the last Dense output are constants
    for layer in layers:
        if _free(layer, False):
            continue
        size = int(np.prod(layer["output_shape"]))
        values = np.asarray(weights.get(layer["name"], []))
        if layer["class"] == "Dense" and values.size and values.size % size == 0:
            constant = ~values.reshape(-1, size).any(axis=0)
        elif layer["class"] in ACTIVATIONS and constant is not None and constant.size == size and constant.any():
            live[layer["name"]] = int(size - constant.sum())
            constant = None
        else:
            constant = None
    return live


def _merged(*terms: dict) -> dict:
    out: dict = {}
    for entries in terms:
        for name, amount in entries.items():
            out[name] = out.get(name, 0.0) + amount
    return out


def _pack(chain: list[Op], delay: dict, period_ns: float, interval: float = 1) -> tuple[int, dict]:
    """The cycles of a chain packed greedily into clock periods (the fewest a scheduler can
    reach), and the bits held in registers at its cycle boundaries, per FF term, where
    they hold the fewest flip-flops (:func:`_pack_fewest`), shared across boundaries when
    the layer takes a new input only every ``interval`` cycles (:func:`_shared_registers`)."""
    cycles = _cycles(chain, delay, period_ns)
    return cycles, _shared_registers(_pack_fewest(chain, delay, period_ns, cycles), interval)


def _shared_registers(boundaries: list[dict], interval: float) -> dict:
    """The flip-flops of a pipeline's boundary registers (one dict of bits per boundary, in
    order). With a new input every cycle each boundary has its own register. With an
    interval II > 1 (a reuse factor), boundary b's values are alive only in the cycles
    b + 1 (mod II) of each input, so boundaries in different residues mod II share the
    same flip-flops (the register binding of a pipeline with II > 1): the largest residue
    class is what is built. Evidence: Vitis HLS 2021.1 registered the cardio MLP's first
    Dense (6 cycles) with 2545 FFs at R = 1 and 1350 at R = 2 (0.53), with the same 36
    DSPs; the jet MLP's four Dense layers at R = 100 with 0.57-0.72 of their R = 1 FFs,
    though holding the products of the shared multipliers."""
    ii = max(1, int(round(interval)))
    classes: list[dict] = [{} for _ in range(min(ii, len(boundaries)) or 1)]
    for b, live in enumerate(boundaries):
        classes[b % len(classes)] = _merged(classes[b % len(classes)], live)
    cost = lambda live: sum(bits for term, bits in live.items() if term not in _FREE_REGISTERS)  # noqa: E731
    return max(classes, key=cost)


# registers the scheduler does not count as flip-flops: a DSP's own pipeline registers
_FREE_REGISTERS = ("ff_dsp_stage_bit",)
# The registers after a multiplication on DSPs, per part class: inside the DSP48E2 of
# UltraScale(+) parts (not flip-flops); the reports of 7-series parts count them as
# flip-flops of the full product (e.g. 53 products x 32 bits: 1605 FFs for a 16-64 Dense
# on a Virtex-7, 2 cycles)
DSP_STAGE = {"7series": "ff_dsp_stage_7series_bit", "ultrascale": "ff_dsp_stage_bit", "ultrascale_plus": "ff_dsp_stage_bit"}


def _pack_fewest(chain: list[Op], delay: dict, period_ns: float, cycles: int) -> list[dict]:
    """The bits held at each boundary (in order) when the chain's ``cycles`` boundaries are
    placed where they hold the fewest flip-flops (a scheduler that minimises registers;
    the DSPs' own registers are free), each cycle's logic still within the period: a
    shortest path over the steps."""
    steps = []  # (delay, bits held if a boundary follows, and per term)
    for op in chain:
        n = int(math.ceil(op.count))
        for _ in range(n):
            steps.append((delay[op.kind] * op.count / n, op.live))
    if not steps or cycles <= 0:
        return []
    cost = lambda live: sum(bits for term, bits in live.items() if term not in _FREE_REGISTERS)  # noqa: E731
    # best[(i, b)]: fewest bits with b boundaries placed, the last one right after step i - 1
    best = {(0, 0): (0.0, ())}
    for i in range(len(steps)):
        for b in range(cycles + 1):
            if (i, b) not in best:
                continue
            spent, held = best[(i, b)]
            used, inside = 0.0, 0
            for j in range(i, len(steps)):
                used += steps[j][0]
                if used > period_ns:
                    if j > i:
                        break
                    inside = math.ceil(used / period_ns) - 1  # one step longer than the period: pipelined inside
                    used -= inside * period_ns
                last = j == len(steps) - 1
                placed = b + inside + (0 if last else 1)
                if placed > cycles:
                    continue
                total = spent + inside * cost(steps[i][1]) + (0 if last else cost(steps[j][1]))
                if total < best.get((j + 1, placed), (math.inf,))[0]:
                    kept = held + (steps[i][1],) * inside + (() if last else (steps[j][1],))
                    best[(j + 1, placed)] = (total, kept)
    done = [best[key] for key in best if key[0] == len(steps)]
    exact = [entry for key, entry in best.items() if key == (len(steps), cycles)]
    return list(min(exact or done, key=lambda entry: entry[0])[1]) if done else []


def _cycles(chain: list[Op], delay: dict, period_ns: float) -> int:
    """Cycle boundaries of a chain packed greedily into clock periods: each step joins the
    current cycle while it fits (the fewest cycles a scheduler can reach)."""
    cycles, used = 0, 0.0
    for op in chain:
        steps = int(math.ceil(op.count))
        d = delay[op.kind] * (op.count / steps if steps else 0.0)
        for _ in range(steps):
            if used + d > period_ns and used > 0:
                cycles += 1
                used = 0.0
            used += d
            while used > period_ns:  # a step longer than the period is pipelined inside
                cycles += 1
                used -= period_ns
    return cycles


def _layer_kind(layer: dict, constants: dict) -> str:
    if layer["class"] in ("GRU", "LSTM", "SimpleRNN"):
        return "recurrent"
    if layer["name"] in constants:
        return "weighted"
    return "softmax" if layer["class"] == "Softmax" or layer.get("activation") == "softmax" else "elementwise"


class Design:
    """A described hls4ml design, analysed once (weights' constants), costed per set of
    coefficients (the calibration tool costs one design many times)."""

    def __init__(self, layers: list[dict], weights: dict, clock_ns: float, mul_impl: str = "auto", tool: str = "vitis_hls",
                 clock_uncertainty_ns: float | None = None, part: str | None = None):  # fmt: skip
        if mul_impl not in ("auto", "dsp", "fabric"):
            raise ValueError(f"mul_impl must be auto, dsp or fabric, not {mul_impl!r}")
        if tool not in TOOLS:
            raise ValueError(f"tool must be one of {', '.join(TOOLS)}, not {tool!r}")
        self.tool = TOOLS[tool]
        self.layers = layers
        self.clock_ns = float(clock_ns)
        uncertainty = DEFAULT_UNCERTAINTY[self.tool] * self.clock_ns if clock_uncertainty_ns is None else clock_uncertainty_ns
        self.period_ns = self.clock_ns - float(uncertainty)
        self.mul_impl = mul_impl
        self.device = device_class(part)
        self.stream = any(layer.get("io_type") == "io_stream" for layer in layers)
        # an io_parallel top that is a dataflow region (hls4ml's PipelineStyle: Resource strategy,
        # partitioned convolutions) hands the layers' outputs over in channels, not in registers of
        # the top (the L1 jet tagger: 0.5 counted a 2480-bit top register it does not have, FF +58%)
        self.dataflow_top = any(layer.get("pipeline_style") == "dataflow" for layer in layers)
        self.input_pixels, pixels = {}, 1  # io_stream: pixels of the stream into each layer
        for layer in layers:
            self.input_pixels[layer["name"]] = pixels
            if not _free(layer, self.stream):
                pixels = _stream_pixels(layer["output_shape"])
        self._layer_costs: dict = {}
        self._unbound: dict = {}
        self.weights = weights
        self.live = {} if self.stream else _constant_outputs(layers, weights)
        self.constants = {}
        for layer in layers:
            for key in (layer["name"], layer.get("recurrent_weights")):
                if key in weights and "weight" in layer:
                    values = np.asarray(weights[key])
                    elementwise = layer["class"] == "BatchNormalization"
                    self.constants[key] = Constants.of(values, _fixed(layer["weight"]), _n_out(layer, values), elementwise)

    def _layer_cost(self, layer: dict, ctx: Context) -> LayerCost:
        cost = LayerCost(layer["name"], layer["class"])
        shape = layer["output_shape"]
        cost.output_bits = (int(shape[-1]) if self.stream and len(shape) > 1 else int(np.prod(shape))) * _bits(layer, "result")
        LAYER_COSTS[_layer_kind(layer, self.constants)](self, layer, ctx, cost)
        if self.stream:  # every dataflow process has its own control
            cost.add("LUT", "lut_process", 1)
            cost.add("FF", "ff_process", 1)
        return cost

    def _recurrent(self, layer: dict, ctx: Context, cost: LayerCost) -> None:
        """GRU/LSTM: the input and the state matrices, a table lookup per gate output, and
        the time steps one after the other (no new input before the last)."""
        name, out_bits = layer["name"], _bits(layer, "result")
        _matmul(layer, self.weights[name], ctx, cost, self.constants[name])
        recurrent = layer.get("recurrent_weights")
        if recurrent in self.constants:
            _matmul({**layer, "input": layer["result"]}, self.weights[recurrent], ctx, cost, self.constants[recurrent])
        gates = {"GRU": 3, "LSTM": 4}.get(layer["class"], 1) * int(layer.get("n_out", 1))
        _activation_op({**layer, "activation": "sigmoid", "input": layer["result"]}, ctx, cost, gates)
        cost.add("LUT", "lut_recurrent_bit", gates * out_bits)
        cost.add("FF", "ff_recurrent_bit", gates * out_bits)
        cost.wait("recurrent_step_cycles", int(layer.get("n_timesteps", 1)))
        cost.busy = True

    def _weighted(self, layer: dict, ctx: Context, cost: LayerCost) -> None:
        """Dense, convolutions, BatchNorm."""
        name = layer["name"]
        _matmul(layer, self.weights[name], ctx, cost, self.constants[name])
        if layer["class"].startswith(("Conv", "PointwiseConv", "DepthwiseConv")):
            _convolution_shape(layer, ctx, cost)
        elif self.stream and layer["class"] != "BatchNormalization":  # a Dense reads its input pixels, then computes
            cost.extra_cycles += cost.step - 1
            # and takes the next input only R cycles later (the pixel CNN's R = 1272 Dense: interval 1272)
            cost.min_run = cost.step
            cost.items, cost.step = self.input_pixels[name], 1.0
        elif self.stream:
            cost.items = _stream_pixels(layer["output_shape"])
        if layer.get("strategy") == "resource" and layer["class"] != "BatchNormalization":  # counters, operand selection
            cost.add("LUT", "lut_resource_layer", 1)
            cost.add("FF", "ff_resource_layer", 1)

    def layer_costs(self, c: dict) -> list[LayerCost]:
        """Every layer's hardware. It depends on the coefficients only through the binding
        of the multiplications (``mult_min_digits``, ``dsp_min_*``): cached per binding."""
        binding = (c["mult_min_digits"], c["dsp_min_input_bits"], c["dsp_min_weight_bits"])
        if binding not in self._layer_costs:
            ctx = Context(c, self.mul_impl, self.stream, self.device)
            self._layer_costs[binding] = [
                self._layer_cost(l, ctx) if self._binds(l) else self._unbound_cost(l, ctx)
                for l in self.layers if not _free(l, self.stream)
            ]  # fmt: skip
        return self._layer_costs[binding]

    def _binds(self, layer: dict) -> bool:
        """Whether a layer's cost depends on the binding of multiplications (it has weights)."""
        return layer["name"] in self.constants

    def _unbound_cost(self, layer: dict, ctx: Context) -> LayerCost:
        if layer["name"] not in self._unbound:
            self._unbound[layer["name"]] = self._layer_cost(layer, ctx)
        return self._unbound[layer["name"]]

    def schedule(self, costs: list[LayerCost], c: dict, registers_held: bool = True) -> dict:
        """Latency, interval and the pipeline registers: each layer's chain packed into
        cycles of the clock period (a register at every cycle boundary holds the bits alive
        there); a layer that needs registers also registers its output for the next one."""
        speed = c[f"speed_{self.device}"]
        delay = {kind: c[f"delay_{kind}"] * speed for kind in ("add", "dsp", "act")}
        depths, bits = [], []
        for cost in costs:
            if registers_held:
                cycles, held = _pack(cost.chain, delay, self.period_ns, cost.step)
            else:  # (the latency alone: the calibration's fit of the schedule)
                cycles, held = _cycles(cost.chain, delay, self.period_ns), {}
            depths.append(cycles + cost.extra_cycles + sum(c[name] * count for name, count in cost.fixed.items()))
            bits.append(held)
        registers = c["layer_register_cycles"]
        pipelined = [depth > 0 for depth in depths]
        for held, cost, p, depth in zip(bits, costs, pipelined, depths):  # the output register of a pipelined layer
            if p:
                held["ff_output_bit"] = held.get("ff_output_bit", 0.0) + registers * cost.output_bits
            if cost.stage_bits:
                held["ff_stage_bit"] = held.get("ff_stage_bit", 0.0) + cost.stage_bits * depth
        intervals = [cost.interval(c) for cost in costs]
        runs = [cost.items * ii for cost, ii in zip(costs, intervals)]
        top = {}  # io_parallel: the top function's registers between layers of no latency
        if not self.stream and registers_held and not self.dataflow_top:
            top = self._top_registers(costs, [depth + run - 1 for depth, run in zip(depths, runs)], delay)
        if self.stream:  # dataflow: the slowest layer, plus the fill of every other layer
            totals = [run + depth for run, depth in zip(runs, depths)]
            fills = [cost.fill_items * ii + depth + c["stream_layer_cycles"] for cost, ii, depth in zip(costs, intervals, depths)]
            slowest = int(np.argmax(totals)) if totals else 0
            latency = (totals[slowest] if totals else 0) + sum(f for i, f in enumerate(fills) if i != slowest)
        elif self.dataflow_top:  # io_parallel processes one after the other, each handing its output over in a channel
            # (the L1 jet tagger: 12 cycles for instances of 5 in all, 8 processes; the VAE's Resource
            # designs: 4 cycles for 5 processes of no latency)
            latency = sum(depths) + sum(run - 1 for run in runs) + c["dataflow_process_cycles"] * max(0, len(costs) - 1)
        else:  # one layer after the other; a layer's last item starts (items x interval - 1) cycles after its first
            latency = sum(depths) + sum(run - 1 for run in runs) + registers * sum(pipelined)
        busy = [max(run, depth) if cost.busy else max(run, cost.min_run) for cost, run, depth in zip(costs, runs, depths)]
        return {
            "latency_cycles": max(1, int(round(latency + c["top_cycles"]))),
            "interval": max(1, int(math.ceil(max(busy, default=1)))),
            "pipeline_bits": _merged(top, *bits),
            "layer_pipeline_bits": bits,
            "cycles": [depth + run - 1 for depth, run in zip(depths, runs)],
            "intervals": busy,
        }

    def _top_registers(self, costs: list[LayerCost], cycles: list, delay: dict) -> dict:
        """io_parallel: a layer that takes no cycle of its own is a combinational instance in
        the top function, after the one before it; where a run of such layers is longer than
        the period, the top function registers the output of the last layer that still fits
        (greedily, as soon as the next does not; an instance cannot be cut inside), in
        flip-flops of its own (``ff_top_bit``, in no layer's instance). Evidence: the VAE
        encoder at 25 ns (one cycle) registered dense2's 16 x 32-bit output in Vivado HLS
        2020.1 (2339 FFs: 1824 of its input, 515 more), and the iris MLP 4-128-3 at 25 ns
        (Vivado HLS 2020.1) held 2168 FFs in its top function around its 128 x 16-bit
        outputs (0.4 estimated 180 FFs for the design, -93%)."""
        held, used, previous = 0.0, 0.0, None
        for cost, total in zip(costs, cycles):
            if total > 0 or not cost.chain:  # a pipelined layer registers its own output (ff_output_bit)
                used, previous = 0.0, None
                continue
            d = sum(delay[op.kind] * op.count for op in cost.chain)
            if previous is not None and used + d > self.period_ns:
                held += previous.output_bits
                used = 0.0
            used += d
            previous = cost
        return {"ff_top_bit": held} if held else {}

    def cost(self, coefficients: dict | None = None) -> dict:
        """Totals and per-layer costs with the given coefficients (of this design's tool
        family; default: the calibrated ones). LUT, FF and BRAM are also returned as
        ``terms`` (amount per coefficient), which is what the calibration fits."""
        c = {**family_coefficients(self.tool), **(coefficients or {})}
        costs = self.layer_costs(c)
        timing = self.schedule(costs, c)
        terms = {"LUT": {}, "FF": dict(timing["pipeline_bits"]), "BRAM_18K": {}}  # (a layer's terms hold no pipeline bits)

        def add(metric, term, amount):
            if amount:
                terms[metric][term] = terms[metric].get(term, 0.0) + float(amount)

        for cost in costs:
            for metric, entries in cost.terms.items():
                for term, amount in entries.items():
                    add(metric, term, amount)
        fifo_terms = {"LUT": {}, "FF": {}, "BRAM_18K": {}}
        if self.stream:
            self._fifos(lambda metric, term, amount: fifo_terms[metric].update({term: fifo_terms[metric].get(term, 0.0) + amount}))
            for metric, entries in fifo_terms.items():
                for term, amount in entries.items():
                    add(metric, term, amount)
        else:  # the top function registers the network's input
            first = next((l for l in self.layers if l["class"] in ("Input", "InputLayer")), None)
            add("FF", "ff_io_bit", int(np.prod(first["output_shape"])) * _bits(first, "result") if first else 0)
            # a top pipeline with an interval II > 1 selects its calls' operands in each of its
            # II states: the Multiplexer line of the top function, 22-31 LUTs at II = 2, 175-231
            # at II = 34-48 (Vitis HLS 2021.1), +44 at II = 4 (2023.2), +74 at II = 12 (Vivado HLS
            # 2020.1), over what the same tools build at II = 1
            add("LUT", "lut_top_state", 0 if self.dataflow_top else max(0, timing["interval"] - 1))
        value = lambda entries: sum(c.get(term, 0.0) * amount for term, amount in entries.items())  # noqa: E731
        totals = {metric: value(entries) for metric, entries in terms.items()}
        totals["BRAM_18K"] = int(round(totals["BRAM_18K"]))  # block counts
        return {
            "DSP": sum(cost.dsp for cost in costs),
            **totals,
            "latency_cycles": timing["latency_cycles"],
            "interval": timing["interval"],
            "terms": terms,
            "fifo_terms": fifo_terms,
            "layers": [
                {"name": cost.name, "class": cost.kind, "DSP": cost.dsp, "multiplications": cost.multiplications,
                 "LUT": value(cost.terms["LUT"]), "FF": value(cost.terms["FF"]) + value(held),
                 "BRAM_18K": value(cost.terms["BRAM_18K"]),
                 "cycles": cycles, "interval": interval,
                 "terms": {"LUT": cost.terms["LUT"], "FF": _merged(cost.terms["FF"], held), "BRAM_18K": cost.terms["BRAM_18K"]}}
                for cost, held, cycles, interval in zip(costs, timing["layer_pipeline_bits"], timing["cycles"], timing["intervals"])
            ],  # fmt: skip
        }

    def _fifos(self, add) -> None:
        """io_stream: a FIFO per layer output (Vivado HLS: one per channel; Vitis HLS one as
        wide as all channels), as deep as hls4ml made it: shift registers when shallow,
        BRAM when deep. Each FIFO has its control; Vitis HLS 2023-2024 also registers each
        FIFO's data, about twice (``ff_fifo_bit`` per bit of width: 1028 FFs for a depth-1
        FIFO of 360-400 bits, 516 for 180-256 bits, 537 for a BRAM FIFO of 256 bits), and
        selects it (``lut_fifo_bit``: the FIFO line of its utilisation summary holds 1.3-1.7
        LUTs per bit of the FIFOs' widths in the four Vitis HLS io_stream reports), where
        Vivado HLS's per-channel FIFOs hold none in flip-flops (5 FFs per shift-register
        FIFO, 33-46 per BRAM FIFO, whatever their depth; MNIST CNN, tiny CNN)."""
        for layer in self.layers:
            if _free(layer, True) or layer["class"] in ("Input", "InputLayer"):
                continue
            shape = layer["output_shape"]
            chans = int(shape[-1]) if len(shape) > 1 else int(np.prod(shape))
            bits = _bits(layer, "result")
            depth = int(layer.get("fifo_depth") or _stream_pixels(shape))
            count, width = (chans, bits) if self.tool == "vivado_hls" else (1, chans * bits)
            add("FF", "ff_fifo_bit", width if self.tool == "vitis_hls" else 0)
            add("LUT", "lut_fifo_bit", width if self.tool == "vitis_hls" else 0)
            if depth > 24 and depth * width > 512:
                add("BRAM_18K", "bram_fifo", count * bram_18k(depth, width))
                add("FF", "ff_fifo_bram", count)
                add("LUT", "lut_fifo_bram", count)
            else:  # (control per FIFO, and per bit of width and of depth)
                add("FF", "ff_fifo_srl", count)
                # (Vivado HLS: 0.4's per-bit term, kept: its 16-bit FIFOs cannot tell it from the
                # control, and the fit holds it at its prior, 0.3)
                add("FF", "ff_fifo_srl_bit", count * width if self.tool == "vivado_hls" else 0)
                add("LUT", "lut_fifo_srl_bit", count * width * max(1, depth) / 32)

    def estimate(self, coefficients: dict | None = None) -> dict:
        result = self.cost(coefficients)
        errors = ERRORS.get(self.tool, {})
        return {
            "source": "estimate",
            "estimator_version": VERSION,
            "DSP": int(result["DSP"]),
            "LUT": int(round(result["LUT"])),
            "FF": int(round(result["FF"])),
            "BRAM_18K": int(result["BRAM_18K"]),
            "URAM": 0,
            "latency_cycles": result["latency_cycles"],
            "latency_ns": float(result["latency_cycles"] * self.clock_ns),
            "interval": result["interval"],
            "clock_ns": self.clock_ns,
            "mul_impl": self.mul_impl,
            "tool": self.tool,
            "device_class": self.device,
            "error_pct": {metric: errors.get(metric) for metric in METRICS},
            "error_basis": ERROR_BASIS.get(self.tool, "not validated"),
            "layers": [{k: v for k, v in layer.items() if k != "terms"} for layer in result["layers"]],
        }


def estimate(layers: list[dict], weights: dict[str, np.ndarray], clock_ns: float, coefficients: dict | None = None,
             mul_impl: str = "auto", tool: str = "vitis_hls", clock_uncertainty_ns: float | None = None,
             part: str | None = None) -> dict:  # fmt: skip
    """Resources and latency of a described hls4ml design (see :func:`hlsnake.hls.describe`),
    with the validated error of each number.

    ``mul_impl`` is the project's multiplier binding: ``auto`` (the tool decides), ``dsp``
    or ``fabric`` (``config_op mul -impl``); ``tool`` the HLS tool (``vitis_hls``,
    ``vivado_hls``, or the hls4ml backend name ``Vitis``, ``Vivado``);
    ``clock_uncertainty_ns`` defaults to hls4ml's (12.5% Vivado, 27% Vitis); ``part`` (the
    FPGA) sets the speed of the logic (7-series, UltraScale, UltraScale+)."""
    return Design(layers, weights, clock_ns, mul_impl, tool, clock_uncertainty_ns, part).estimate(coefficients)


# a layer's kind -> what builds its cost
LAYER_COSTS = {
    "recurrent": Design._recurrent,
    "weighted": Design._weighted,
    "softmax": lambda design, layer, ctx, cost: _softmax(layer, ctx, cost),
    "elementwise": lambda design, layer, ctx, cost: _elementwise(layer, ctx, cost, design.live.get(layer["name"])),
}



def run(job: SynthJob) -> dict:
    """The estimate of the design an hls stage described (layers.json, weights.npz)."""
    description, weights = load_description(job.hls_dir)
    tool = job.hls.get("backend", "Vitis")  # the tool that would synthesise the project
    return estimate(description["layers"], weights, description["clock_period"], tool=tool, part=description.get("part"))


register(Backend("estimate", run, describe="hlsnake's estimator (instant, no tool)"))
