"""One handler per hls4ml layer class: the arithmetic of the layer's nnet_utils C++ (Vivado/Vitis
templates, io_parallel and io_stream) on integer codes.

A handler is built from the converted (not compiled) hls4ml layer and reads what the C++ reads:
the precisions of the layer's variables, the weights as the text files hold them, and the
constants of the generated config struct (``config_cpp``) and call (``function_cpp``). It raises
:class:`EmulationUnsupported` for anything it does not reproduce bit-exactly.

Tensors are :class:`Fx`: int64 codes of shape (samples, elements), the elements in the C order of
the layer's array (the order of a stream too), and their type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import schedules
from .fixedpoint import (
    EmulationUnsupported,
    FixedType,
    code_with_top_bits,
    convert,
    from_double,
    libm_float,
    top_bits,
    trunc_div,
    wrap,
)


@dataclass
class Fx:
    """A fixed-point tensor: codes (samples, elements) of one type."""

    codes: np.ndarray
    type: FixedType

    def to(self, t: FixedType) -> "Fx":
        """Assignment to another type (``res_T x = data``)."""
        if t.is_int and not self.type.is_int and self.type.integer <= 0:
            raise EmulationUnsupported(f"{self.type} to {t}: ap_fixed's to_ap_int_base is irregular without integer bits")
        return Fx(convert(self.codes, self.type.frac, t), t)


HANDLERS: dict[str, type] = {}


def handles(*class_names: str):
    def register(cls):
        for name in class_names:
            HANDLERS[name] = cls
        return cls

    return register


# -- reading the converted layer -----------------------------------------------------------------

def named_type(layer, attr: str) -> FixedType:
    value = layer.get_attr(attr)
    if value is None:
        raise EmulationUnsupported(f"layer {layer.name} ({layer.class_name}) has no {attr}")
    return FixedType.from_precision(value.precision, f"{attr} of layer {layer.name}")


def config_int(layer, name: str, default=None) -> int:
    """An integer constant of the layer's generated C++ config (the last struct that sets it)."""
    found = re.findall(rf"\b{name}\s*=\s*(-?\d+)\s*;", layer.get_attr("config_cpp") or "")
    if not found:
        if default is not None:
            return default
        raise EmulationUnsupported(f"layer {layer.name}: no '{name}' in its C++ config")
    return int(found[-1])


def config_word(layer, pattern: str) -> str | None:
    match = re.search(pattern, layer.get_attr("config_cpp") or "")
    return match[1] if match else None


def cpp_function(layer) -> str:
    match = re.search(r"nnet::(\w+)\s*<", layer.get_attr("function_cpp") or "")
    return match[1] if match else ""


def weights(layer, key: str) -> tuple[np.ndarray, FixedType]:
    """A weight array as the C simulation holds it: hls4ml prints each value as decimal text with
    the type's fractional digits (weights/*.txt), g++ reads it as a double and converts it."""
    var = layer.weights[key]
    t = FixedType.from_precision(var.type.precision, f"weight '{key}' of layer {layer.name}")
    if type(var).__name__ != "WeightVariable" and "Static" not in type(var).__name__:
        raise EmulationUnsupported(f"layer {layer.name}: weight '{key}' is a {type(var).__name__}")
    text = np.array([float(s) for s in var], dtype=np.float64).reshape(np.shape(var.data))
    codes = from_double(text, t)
    if layer.get_attr("_weights_transposed", False) and key in ("weight", "depthwise", "pointwise"):
        codes = np.moveaxis(codes, 0, -1)  # undo ApplyResourceStrategy: (F, ...) -> (..., F)
    return codes, t


def input_type(layer, index: int = 0) -> FixedType:
    var = layer.get_input_variable(layer.inputs[index])
    return FixedType.from_precision(var.type.precision, f"the input of {layer.name}")


def pack_size(var) -> int | None:
    """Elements per stream read/write (hls4ml's packed stream type); None for arrays."""
    return getattr(var.type, "n_elem", None)


def window_index(out_hw, window_hw, stride_hw, pad_top_left, in_hw) -> np.ndarray:
    """For each output pixel and window tap, the input pixel it reads (-1: padding): the im2col
    fill_buffer, the stream line buffer, the pooling windows and zero padding."""
    (out_h, out_w), (fh, fw), (sh, sw), (pt, pl), (in_h, in_w) = out_hw, window_hw, stride_hw, pad_top_left, in_hw
    oy, ox, ky, kx = np.meshgrid(np.arange(out_h), np.arange(out_w), np.arange(fh), np.arange(fw), indexing="ij")
    iy, ix = oy * sh + ky - pt, ox * sw + kx - pl
    inside = (iy >= 0) & (iy < in_h) & (ix >= 0) & (ix < in_w)
    return np.where(inside, iy * in_w + ix, -1).reshape(out_h * out_w, fh * fw)


def gather_pixels(codes: np.ndarray, index: np.ndarray, n_chan: int, fill: int = 0) -> np.ndarray:
    """(samples, out_pixels, taps, channels) input codes read through ``index``; ``fill`` where -1."""
    n = len(codes)
    pixels = codes.reshape(n, -1, n_chan)
    padded = np.concatenate([pixels, np.full((n, 1, n_chan), fill, np.int64)], axis=1)
    return padded[:, index]


def conv_geometry(layer, two_d: bool, window: str = "filt") -> tuple[np.ndarray, int]:
    """The window index and channel count of a convolution (window 'filt') or pooling ('pool')."""
    c = lambda name, default=None: config_int(layer, name, default)  # noqa: E731
    if two_d:
        shape = ((c("out_height"), c("out_width")), (c(f"{window}_height"), c(f"{window}_width")),
                 (c("stride_height"), c("stride_width")), (c("pad_top"), c("pad_left")), (c("in_height"), c("in_width")))
        dilated = c("dilation_height", 1) != 1 or c("dilation_width", 1) != 1
    else:
        pooling = window == "pool"
        shape = ((1, c("n_out" if pooling else "out_width")), (1, c(f"{window}_width")), (1, c("stride_width")),
                 (0, c("pad_left")), (1, c("n_in" if pooling else "in_width")))
        dilated = c("dilation", 1) != 1
    if dilated:
        raise EmulationUnsupported(f"layer {layer.name}: dilated convolution")
    return window_index(*shape), c("n_filt" if window == "pool" else "n_chan")


# -- handlers ------------------------------------------------------------------------------------

class Handler:
    """Base: the layer's name, its input and output tensors (by variable name), its result type."""

    elementwise = False  # io_stream: the C++ indexes the input pack with the output pack's index

    def __init__(self, layer, io_type: str):
        self.name = layer.name
        self.kind = layer.class_name
        self.io_type = io_type
        self.inputs = list(layer.inputs)
        self.outputs = list(layer.outputs)
        self.result = FixedType.from_precision(layer.get_output_variable().type.precision, f"the output of {layer.name}")
        found = [layer.get_input_variable(name) for name in self.inputs]
        found = [var for var in found if var is not None]  # an Input layer reads no variable
        self.in_shapes = [list(var.shape) for var in found]
        if io_type == "io_stream" and self.elementwise:
            packs = sorted({pack_size(var) for var in found} | {pack_size(layer.get_output_variable())})
            if len(packs) > 1:
                raise EmulationUnsupported(f"layer {layer.name}: its streams pack {packs} elements (an in-place flatten "
                                           "before it); the C++ reads past the smaller pack")

    def __call__(self, *xs: Fx) -> Fx | list[Fx]:
        raise NotImplementedError


@handles("Input")
class InputHandler(Handler):
    """The bridge's ``convert_data``: each float input becomes ``input_t(double(x))``."""

    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.inputs = []

    def __call__(self, values: np.ndarray) -> Fx:
        return Fx(from_double(values, self.result), self.result)


@handles("Reshape", "Repack")
class CopyHandler(Handler):
    """Layouts that do not move data (in-place reshape and flatten, stream repack): an
    element-wise assignment to the output type."""

    def __call__(self, x: Fx) -> Fx:
        return x.to(self.result)


@handles("Clone")
class CloneHandler(Handler):
    elementwise = True

    def __call__(self, x: Fx) -> list[Fx]:
        return [x.to(self.result) for _ in self.outputs]


# -- multiply-accumulate layers: Dense, Conv1D/2D, pointwise and depthwise convolutions ------------------

class Accumulator:
    """The accumulator of every dense/conv kernel of nnet_utils (dense_latency, dense_resource_*,
    the conv and depthwise kernels): ``acc = accum_t(bias)``, then ``acc += accum_t(x_k * w_k)``
    over k; the layer then assigns acc to res_T. Each product is assigned to accum_t (quantised,
    overflowed); sums of values on the accum_t grid are exact, so only overflow of the running sum
    can depend on the order of the additions. When no running sum can leave accum_t's range, or
    accum_t wraps (modular arithmetic), the order is irrelevant; otherwise the kernel's order is
    replayed (:mod:`.schedules`).
    """

    def __init__(self, layer, w: np.ndarray, wt: FixedType, b: np.ndarray, bt: FixedType, xt: FixedType,
                 accum: FixedType, kernel: str, reuse: int, depthwise: bool = False):
        self.depthwise = depthwise
        self.w, self.xt, self.accum = w.astype(np.int64), xt, accum  # w: (K, F), or (taps, C) for depthwise
        if xt.width + wt.width > 63:
            raise EmulationUnsupported(f"layer {layer.name}: {xt} x {wt} products exceed 63 bits")
        self.pfrac = xt.frac + wt.frac
        self.shift = accum.frac - self.pfrac  # >= 0: products exact on the accum grid
        self.bias = convert(b.astype(np.int64), bt.frac, accum)
        if self.shift > 0 and xt.width + wt.width + self.shift > 62:
            raise EmulationUnsupported(f"layer {layer.name}: products aligned to {accum} exceed 62 bits")
        lo, hi = self._partial_sum_bounds()
        self.free = lo >= accum.min_code and hi <= accum.max_code
        self.modular = accum.saturation == "WRAP" and accum.sat_bits == 0
        n_in, n_out = (self.w.size if depthwise else self.w.shape[0]), self.w.shape[1]
        # the kernel's schedule, validated: a kernel that does not compute the layer is unsupported
        self.order = schedules.order(kernel, n_in, n_out, reuse, layer.name, depthwise)
        if accum.width + int(np.ceil(np.log2(n_in + 2))) > 62 and not self.modular:
            raise EmulationUnsupported(f"layer {layer.name}: sums of {n_in} {accum} values exceed 62 bits")
        # float64 BLAS is exact while every partial sum stays below 2**53
        self.blas = self.shift >= 0 and self.free and max(abs(lo), abs(hi)) < 2**52

    def _partial_sum_bounds(self) -> tuple[int, int]:
        """Bounds of every running sum (any order, any subset) over all inputs of type xt."""
        p1, p2 = self.w * self.xt.min_code, self.w * self.xt.max_code
        pmin, pmax = np.minimum(p1, p2), np.maximum(p1, p2)
        if self.shift >= 0:
            pmin, pmax = pmin << self.shift, pmax << self.shift
        else:  # a quantised product moves at most one step beyond the truncated bound
            pmin, pmax = (pmin >> -self.shift) - 1, (pmax >> -self.shift) + 1
        lo = np.minimum(self.bias, 0) + np.minimum(pmin, 0).sum(axis=0)
        hi = np.maximum(self.bias, 0) + np.maximum(pmax, 0).sum(axis=0)
        return int(lo.min(initial=0)), int(hi.max(initial=0))

    def products(self, x: np.ndarray) -> np.ndarray:
        """accum_t(x_k * w_k): (M, K, F) for dense, (M, taps, C) for depthwise."""
        p = x[:, :, None] * self.w[None] if not self.depthwise else x * self.w[None]
        return p << self.shift if self.shift >= 0 and self.free else convert(p, self.pfrac, self.accum)

    def _in_order(self, p: np.ndarray) -> np.ndarray:
        """acc = bias, then acc += product in the kernel's order, overflowing each time."""
        n_out = p.shape[2]
        outputs = np.arange(n_out)
        acc = np.broadcast_to(self.bias, (len(p), n_out)).copy()
        for inputs in self.order:
            taps = inputs // n_out if self.depthwise else inputs
            acc = convert(acc + p[:, taps, outputs], self.accum.frac, self.accum)
        return acc

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """accum_t codes (M, F) for x: (M, K), or (M, taps, C) for depthwise."""
        x = x.astype(np.int64)
        if self.blas and not self.depthwise:
            acc = self.bias + (np.rint(x.astype(np.float64) @ self.w.astype(np.float64)).astype(np.int64) << self.shift)
        elif (self.free or self.modular) and self.shift >= 0 and not self.depthwise:
            acc = self.bias + ((x @ self.w) << self.shift)  # int64 wraps modulo 2**64: the low bits stay exact
        else:
            chunk = max(1, 2**22 // max(1, self.w.size))  # bounded memory for the per-product tensor
            parts = []
            for start in range(0, len(x), chunk):
                p = self.products(x[start:start + chunk])
                parts.append(self.bias + p.sum(axis=1) if self.free or self.modular else self._in_order(p))
            acc = np.concatenate(parts) if parts else np.zeros((0, self.w.shape[-1]), np.int64)
        return wrap(acc, self.accum.width, self.accum.signed) if self.modular and not self.free else acc


def mac_kernel(layer) -> tuple[str, int]:
    """The multiply-accumulate kernel the C++ runs, and its reuse factor."""
    product = config_word(layer, r"using product = nnet::product::(\w+)<")
    if product and product != "mult":
        raise EmulationUnsupported(f"layer {layer.name}: product '{product}' (binary/ternary/exponent weights)")
    kernel = config_word(layer, r"using kernel = nnet::(\w+)<")
    if kernel is None:
        raise EmulationUnsupported(f"layer {layer.name}: no multiply-accumulate kernel in its C++ config")
    return kernel, config_int(layer, "reuse_factor")


class MacHandler(Handler):
    """A layer computed by an :class:`Accumulator`, its result assigned to res_T."""

    acc: Accumulator

    def accumulate(self, x: np.ndarray) -> np.ndarray:
        return convert(self.acc(x), self.acc.accum.frac, self.result)


@handles("Dense")
class DenseHandler(MacHandler):
    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        w, wt = weights(layer, "weight")
        b, bt = weights(layer, "bias")
        n_in, n_out = int(layer.get_attr("n_in")), int(layer.get_attr("n_out"))
        self.acc = Accumulator(layer, w.reshape(n_in, n_out), wt, b.reshape(n_out), bt, input_type(layer),
                               named_type(layer, "accum_t"), *mac_kernel(layer))

    def __call__(self, x: Fx) -> Fx:
        return Fx(self.accumulate(x.codes), self.result)


@handles("Conv1D", "Conv2D", "PointwiseConv1D", "PointwiseConv2D")
class ConvHandler(MacHandler):
    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.index, self.n_chan = conv_geometry(layer, "2D" in layer.class_name)
        w, wt = weights(layer, "weight")
        b, bt = weights(layer, "bias")
        n_filt = config_int(layer, "n_filt")
        kernel, reuse = mac_kernel(layer)
        if io_type == "io_parallel" and "nnet::resource" in (layer.get_attr("config_cpp") or ""):
            kernel = "conv_resource"  # conv_*d_resource_cl runs its own loops, not the dense kernel
        self.acc = Accumulator(layer, w.reshape(-1, n_filt), wt, b.reshape(n_filt), bt, input_type(layer),
                               named_type(layer, "accum_t"), kernel, reuse)

    def __call__(self, x: Fx) -> Fx:
        n = len(x.codes)
        cols = gather_pixels(x.codes, self.index, self.n_chan)
        return Fx(self.accumulate(cols.reshape(n * len(self.index), -1)).reshape(n, -1), self.result)


@handles("DepthwiseConv1D", "DepthwiseConv2D")
class DepthwiseConvHandler(MacHandler):
    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.index, self.n_chan = conv_geometry(layer, "2D" in layer.class_name)
        if config_int(layer, "n_filt") != self.n_chan:
            raise EmulationUnsupported(f"layer {layer.name}: depth multiplier other than 1")
        kernel, reuse = mac_kernel(layer)
        if io_type == "io_parallel" and kernel not in schedules.LATENCY:
            raise EmulationUnsupported(f"layer {layer.name}: hls4ml's io_parallel depthwise conv aborts unless Latency")
        w, wt = weights(layer, "weight")
        b, bt = weights(layer, "bias")
        taps = self.index.shape[1]
        if w.size != taps * self.n_chan:  # e.g. a BatchNormalization fused into it broadcast the kernel
            raise EmulationUnsupported(f"layer {layer.name}: {w.size} depthwise weights for {taps} taps x {self.n_chan} "
                                       "channels (hls4ml's C++ reads only the first ones)")
        self.acc = Accumulator(layer, w.reshape(taps, self.n_chan), wt, b.reshape(self.n_chan), bt, input_type(layer),
                               named_type(layer, "accum_t"), kernel, reuse, depthwise=True)

    def __call__(self, x: Fx) -> Fx:
        n = len(x.codes)
        patches = gather_pixels(x.codes, self.index, self.n_chan)
        return Fx(self.accumulate(patches.reshape(n * len(self.index), -1, self.n_chan)).reshape(n, -1), self.result)


@handles("BatchNormalization")
class BatchNormHandler(Handler):
    """``normalize``: res = res_T(x * scale + bias), scale and bias per channel (or per element)."""

    elementwise = True

    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        if cpp_function(layer) != "normalize":
            raise EmulationUnsupported(f"layer {layer.name}: {cpp_function(layer)} (binary/ternary batch norm)")
        product = config_word(layer, r"using product = nnet::product::(\w+)<")
        if product and product != "mult":
            raise EmulationUnsupported(f"layer {layer.name}: product '{product}'")
        scale, self.st = weights(layer, "scale")
        bias, self.bt = weights(layer, "bias")
        self.scale, self.bias = scale.ravel(), bias.ravel()
        self.xt = input_type(layer)
        self.frac = self.xt.frac + self.st.frac
        if self.xt.width + self.st.width > 62 or self.frac - self.bt.frac + self.bt.width > 62:
            raise EmulationUnsupported(f"layer {layer.name}: {self.xt} x {self.st} exceeds 62 bits")
        self.n_filt = config_int(layer, "n_filt", -1)

    def __call__(self, x: Fx) -> Fx:
        n_in = x.codes.shape[1]
        idx = np.arange(n_in) % self.n_filt if self.n_filt > 0 else np.arange(n_in)
        shift = self.frac - self.bt.frac
        if shift >= 0:
            exact, frac = x.codes * self.scale[idx] + (self.bias[idx] << shift), self.frac
        else:
            exact, frac = ((x.codes * self.scale[idx]) << -shift) + self.bias[idx], self.bt.frac
        return Fx(convert(exact, frac, self.result), self.result)


# -- activations ---------------------------------------------------------------------------------

@handles("Activation:linear")
class LinearHandler(Handler):
    elementwise = True

    def __call__(self, x: Fx) -> Fx:
        return x.to(self.result)


@handles("Activation:relu")
class ReluHandler(Handler):
    elementwise = True

    def __call__(self, x: Fx) -> Fx:
        return Fx(convert(np.where(x.codes > 0, x.codes, 0), x.type.frac, self.result), self.result)


def _table_input(name: str, size: int) -> np.ndarray:
    """The float x of each table entry (``init_*_table``: computed in double, stored as float)."""
    i = np.arange(size, dtype=np.float64)
    half_span = 4.0 if name == "tanh" else 8.0
    return (2 * half_span * (i - float(size) / 2.0) / float(size)).astype(np.float32)


def _sigmoid(x):
    """``1.0 / (1 + std::exp(-x))``: the sum in float (int + float), the division in double."""
    return (1.0 / (np.float32(1) + libm_float("expf", -x)).astype(np.float64)).astype(np.float32)


TABLE_FUNCTIONS = {"sigmoid": _sigmoid, "tanh": lambda x: libm_float("tanhf", x)}
TABLE_SPAN = {"sigmoid": 16, "tanh": 8}  # index = int(x * size / span) + size / 2


@lru_cache(maxsize=None)
def lookup_table(name: str, size: int, table_t: FixedType) -> np.ndarray:
    return from_double(TABLE_FUNCTIONS[name](_table_input(name, size)).astype(np.float64), table_t)


@handles("Activation:sigmoid", "Activation:tanh")
class TableActivationHandler(Handler):
    """sigmoid / tanh: a table computed at start-up with the C library's float functions,
    indexed by ``int(x * table_size / span) + table_size / 2`` (truncating, clamped)."""

    elementwise = True

    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.function = cpp_function(layer)
        self.size = config_int(layer, "table_size")
        self.table_t = named_type(layer, "table_t")
        self.table = lookup_table(self.function, self.size, self.table_t)

    def __call__(self, x: Fx) -> Fx:
        span = TABLE_SPAN[self.function]
        # ap_fixed * unsigned / int: the quotient keeps x's fractional bits, truncated toward zero;
        # int() truncates the value toward zero and keeps 32 bits
        quotient = trunc_div(x.codes * self.size, span)
        frac = x.type.frac
        data_round = wrap(trunc_div(quotient, 1 << frac) if frac >= 0 else quotient << -frac, 32, True)
        index = np.clip(wrap(data_round + (span // 2) * self.size // span, 32, True), 0, self.size - 1)
        return Fx(convert(self.table[index], self.table_t.frac, self.result), self.result)


@handles("ParametrizedActivation:leaky_relu")
class LeakyReluHandler(Handler):
    """leaky_relu: x > 0 ? x : alpha * x, alpha a literal in the call converted to param_t."""

    elementwise = True

    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.param_t = named_type(layer, "param_t")
        if self.param_t.frac < 0:
            raise EmulationUnsupported(f"layer {layer.name}: param_t {self.param_t} has negative fractional bits")
        self.param = int(from_double(np.array([float(layer.get_attr("activ_param", 1.0))]), self.param_t)[0])

    def __call__(self, x: Fx) -> Fx:
        pf = self.param_t.frac
        exact = np.where(x.codes > 0, x.codes << pf, x.codes * self.param)
        return Fx(convert(exact, x.type.frac + pf, self.result), self.result)


def reduce_tree(values: list, op):
    """nnet::reduce: a balanced tree whose left part is the largest power of two below N."""
    n = len(values)
    if n == 1:
        return values[0]
    if n == 2:
        return op(values[0], values[1])
    left = 1 << int(np.floor(np.log2(n - 1)))
    return op(reduce_tree(values[:left], op), reduce_tree(values[left:], op))


def _maximum(a, b):
    return np.where(a >= b, a, b)  # Op_max: a >= b ? a : b


@handles("Softmax")
class SoftmaxHandler(Handler):
    """softmax_stable and softmax_latency (nnet_activation.h / _stream.h): exp and 1/x tables
    computed at start-up in float, indexed by the top bits of a code, an adder tree in accum_t,
    and res = exp * inv(sum). A stream applies it to each pack."""

    elementwise = True

    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.implementation = str(layer.get_attr("implementation", "stable")).lower()
        if self.implementation not in ("stable", "latency"):
            raise EmulationUnsupported(f"layer {layer.name}: softmax implementation '{self.implementation}'")
        if cpp_function(layer) != "softmax":
            raise EmulationUnsupported(f"layer {layer.name}: {cpp_function(layer)} (softmax over an inner axis)")
        self.exp_size, self.inv_size = config_int(layer, "exp_table_size"), config_int(layer, "inv_table_size")
        self.exp_bits, self.inv_bits = (int(np.ceil(np.log2(size))) for size in (self.exp_size, self.inv_size))
        self.exp_t, self.inv_t = named_type(layer, "exp_table_t"), named_type(layer, "inv_table_t")
        self.accum, self.inv_inp_t = named_type(layer, "accum_t"), named_type(layer, "inv_inp_t")
        scale = config_word(layer, r"exp_scale\s*=\s*([-0-9.eE+]+)\s*;")
        self.exp_scale = np.float32(float(scale) if scale else 1.0)
        # the type whose code addresses the exp table: (max - x) in inp_norm_t, or x itself
        self.index_t = (FixedType.parse(config_word(layer, r"typedef\s+([^;]+?)\s+inp_norm_t\s*;"))
                        if self.implementation == "stable" else input_type(layer))
        var = layer.get_input_variable()
        self.n_slice = pack_size(var) if io_type == "io_stream" else config_int(layer, "n_slice")
        if io_type == "io_parallel" and self.n_slice != int(np.prod(var.shape)):
            raise EmulationUnsupported(f"layer {layer.name}: softmax over a multi-dimensional input")
        self.exp_table, self.inv_table = self._tables()

    def _tables(self):
        def real_value(size, t, bits):  # softmax_real_val_from_idx: the index in the top bits, as float
            return (code_with_top_bits(np.arange(size), t, bits).astype(np.float64) * 2.0 ** -t.frac).astype(np.float32)

        x = real_value(self.exp_size, self.index_t, self.exp_bits) * self.exp_scale
        exp_table = from_double(libm_float("expf", -x if self.implementation == "stable" else x).astype(np.float64), self.exp_t)
        with np.errstate(divide="ignore"):
            inv = np.float32(1) / real_value(self.inv_size, self.inv_inp_t, self.inv_bits)  # 1/0 = inf, read as 2**1024
        return exp_table, from_double(inv.astype(np.float64), self.inv_t)

    def __call__(self, x: Fx) -> Fx:
        n = len(x.codes)
        slices = x.codes.reshape(n, -1, self.n_slice)
        if self.implementation == "stable":
            x_max = reduce_tree([slices[..., j] for j in range(self.n_slice)], _maximum)
            index = top_bits(convert(x_max[..., None] - slices, x.type.frac, self.index_t), self.index_t, self.exp_bits)
        else:
            index = top_bits(slices, x.type, self.exp_bits)
        acc = self.accum
        exp_res = convert(self.exp_table[index], self.exp_t.frac, acc)
        total = reduce_tree([exp_res[..., j] for j in range(self.n_slice)], lambda a, b: convert(a + b, acc.frac, acc))
        exp_sum = convert(total, acc.frac, self.inv_inp_t)
        inv = self.inv_table[top_bits(exp_sum, self.inv_inp_t, self.inv_bits)]
        res = convert(exp_res * inv[..., None], acc.frac + self.inv_t.frac, self.result)
        return Fx(res.reshape(n, -1), self.result)


# -- pooling -------------------------------------------------------------------------------------

def _pad_value(t: FixedType) -> int:
    """pad_val<T, Max>: a code with only the top bit set (the minimum of a signed type)."""
    return int(wrap(np.array([1 << (t.width - 1)]), t.width, t.signed)[0])


def _running_sum(values: np.ndarray, xt: FixedType, acc: FixedType) -> np.ndarray:
    """``accum_t y = 0; y += x[i]`` over the second axis: each sum exact, then assigned to accum_t."""
    f = max(acc.frac, xt.frac)
    y = np.zeros_like(values[:, 0])
    for k in range(values.shape[1]):
        y = convert((y << (f - acc.frac)) + (values[:, k] << (f - xt.frac)), f, acc)
    return y


def _running_max(values: np.ndarray, start: np.ndarray) -> np.ndarray:
    out = start
    for k in range(values.shape[1]):
        out = np.where(values[:, k] > out, values[:, k], out)
    return out


@handles("Pooling1D", "Pooling2D")
class PoolingHandler(Handler):
    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.index, self.n_chan = conv_geometry(layer, layer.class_name == "Pooling2D", window="pool")
        self.op = config_word(layer, r"pool_op\s*=\s*nnet::(\w+)\s*;")
        if self.op not in ("Max", "Average"):
            raise EmulationUnsupported(f"layer {layer.name}: pooling op {self.op}")
        self.count_pad = "count_pad = true" in (layer.get_attr("config_cpp") or "")
        self.accum = named_type(layer, "accum_t")

    def __call__(self, x: Fx) -> Fx:
        n, acc = len(x.codes), self.accum
        if self.io_type == "io_stream":
            # compute_pool_buffer: the window in accum_t, reduce_pool (a tree), sum / N (unpadded)
            win = convert(gather_pixels(x.codes, self.index, self.n_chan), x.type.frac, acc)  # (n, out, taps, c)
            cols = [win[:, :, k] for k in range(win.shape[2])]
            if self.op == "Max":
                out = reduce_tree(cols, _maximum)
            else:
                out = trunc_div(reduce_tree(cols, lambda a, b: convert(a + b, acc.frac, acc)), len(cols))
            return Fx(convert(out, acc.frac, self.result).reshape(n, -1), self.result)
        # pooling*d_cl: padded cells hold pad_val; the max in data_T, or a running sum in accum_t / overlap
        pad = _pad_value(x.type) if self.op == "Max" else 0
        win = gather_pixels(x.codes, self.index, self.n_chan, fill=pad).transpose(0, 2, 1, 3)  # (n, taps, out, c)
        if self.op == "Max":
            out = convert(_running_max(win[:, 1:], win[:, 0]), x.type.frac, acc)
        else:
            inside = self.index >= 0
            count = np.full(len(inside), inside.shape[1]) if self.count_pad else inside.sum(axis=1)
            out = trunc_div(_running_sum(win, x.type, acc), count[None, :, None])
        return Fx(convert(out, acc.frac, self.result).reshape(n, -1), self.result)


@handles("GlobalPooling1D", "GlobalPooling2D")
class GlobalPoolingHandler(Handler):
    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.op = config_word(layer, r"pool_op\s*=\s*nnet::(\w+)\s*;")
        if self.op not in ("Max", "Average"):
            raise EmulationUnsupported(f"layer {layer.name}: pooling op {self.op}")
        self.accum = named_type(layer, "accum_t")
        self.n_filt = config_int(layer, "n_filt")

    def __call__(self, x: Fx) -> Fx:
        n, acc = len(x.codes), self.accum
        pixels = x.codes.reshape(n, -1, self.n_filt)
        if self.io_type == "io_stream":
            # a running max / sum in accum_t over the pixels as they stream in
            win = convert(pixels, x.type.frac, acc)
            if self.op == "Max":  # starts at hls::numeric_limits<accum_t>::min(): only plain ap_fixed has one
                start = acc.min_code if acc.signed and acc.sat_bits == 0 else 0
                out = _running_max(win, np.full((n, self.n_filt), start, np.int64))
            else:
                out = trunc_div(_running_sum(win, acc, acc), win.shape[1])
        elif self.op == "Max":
            out = convert(_running_max(pixels[:, 1:], pixels[:, 0]), x.type.frac, acc)
        else:
            out = trunc_div(_running_sum(pixels, x.type, acc), pixels.shape[1])
        return Fx(convert(out, acc.frac, self.result), self.result)


# -- padding, merging ------------------------------------------------------------------------------

@handles("ZeroPadding1D", "ZeroPadding2D")
class ZeroPaddingHandler(Handler):
    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        c = lambda name: config_int(layer, name)  # noqa: E731
        if layer.class_name == "ZeroPadding2D":
            out_hw, pads = (c("out_height"), c("out_width")), (c("pad_top"), c("pad_left"))
            in_hw = (c("in_height"), c("in_width"))
        else:
            out_hw, pads, in_hw = (1, c("out_width")), (0, c("pad_left")), (1, c("in_width"))
        self.index, self.n_chan = window_index(out_hw, (1, 1), (1, 1), pads, in_hw), c("n_chan")

    def __call__(self, x: Fx) -> Fx:
        n = len(x.codes)
        return Fx(gather_pixels(x.to(self.result).codes, self.index, self.n_chan).reshape(n, -1), self.result)


@handles("Merge")
class MergeHandler(Handler):
    """add / subtract / multiply / average / maximum / minimum, broadcasting by ``ii % n_elem``."""

    elementwise = True

    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.op = cpp_function(layer)
        if self.op not in ("add", "subtract", "multiply", "average", "maximum", "minimum"):
            raise EmulationUnsupported(f"layer {layer.name}: merge '{self.op}'")

    def __call__(self, a: Fx, b: Fx) -> Fx:
        n_out = max(a.codes.shape[1], b.codes.shape[1])
        a = Fx(a.codes[:, np.arange(n_out) % a.codes.shape[1]], a.type)
        b = Fx(b.codes[:, np.arange(n_out) % b.codes.shape[1]], b.type)
        if self.op == "multiply":
            return Fx(convert(a.codes * b.codes, a.type.frac + b.type.frac, self.result), self.result)
        f = max(a.type.frac, b.type.frac)
        ca, cb = a.codes << (f - a.type.frac), b.codes << (f - b.type.frac)
        if self.op in ("maximum", "minimum"):
            pick_a = ca > cb if self.op == "maximum" else ca < cb
            return Fx(np.where(pick_a, a.to(self.result).codes, b.to(self.result).codes), self.result)
        exact = ca - cb if self.op == "subtract" else ca + cb
        return Fx(convert(exact, f + (1 if self.op == "average" else 0), self.result), self.result)  # average: * 0.5


@handles("Concatenate")
class ConcatenateHandler(Handler):
    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.axis = int(layer.get_attr("axis", -1))  # Keras counts the batch axis, like the (samples, ...) arrays

    def __call__(self, a: Fx, b: Fx) -> Fx:
        n = len(a.codes)
        ca = a.to(self.result).codes.reshape(n, *self.in_shapes[0])
        cb = b.to(self.result).codes.reshape(n, *self.in_shapes[1])
        return Fx(np.concatenate([ca, cb], axis=self.axis).reshape(n, -1), self.result)


def handler_for(layer, io_type: str) -> Handler:
    """The handler of a converted hls4ml layer; activations are dispatched by their C++ function."""
    kind = layer.class_name
    key = f"{kind}:{cpp_function(layer)}" if kind in ("Activation", "ParametrizedActivation") else kind
    cls = HANDLERS.get(key)
    if cls is None:
        what = f"{kind} ({cpp_function(layer)})" if ":" in key else kind
        raise EmulationUnsupported(f"layer {layer.name}: {what} is not emulated")
    return cls(layer, io_type)
