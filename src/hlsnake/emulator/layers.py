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


def value_range(t: FixedType) -> tuple[int, int]:
    return t.min_code, t.max_code


# -- handlers ------------------------------------------------------------------------------------

class Handler:
    """Base: the layer's name, its input and output tensors (by variable name), its result type."""

    def __init__(self, layer, io_type: str):
        self.name = layer.name
        self.kind = layer.class_name
        self.io_type = io_type
        self.inputs = list(layer.inputs)
        self.outputs = list(layer.outputs)
        self.result = FixedType.from_precision(layer.get_output_variable().type.precision, f"the output of {layer.name}")
        found = [layer.get_input_variable(name) for name in self.inputs]
        self.in_shapes = [list(var.shape) for var in found if var is not None]  # an Input layer reads no variable
        self.out_shape = list(layer.get_output_variable().shape)

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


@handles("Reshape", "Repack", "Activation:linear")
class CopyHandler(Handler):
    """Layouts that do not move data (in-place reshape, flatten, stream repack) and ``linear``:
    an element-wise assignment to the output type."""

    def __call__(self, x: Fx) -> Fx:
        return x.to(self.result)


@handles("Clone")
class CloneHandler(Handler):
    def __call__(self, x: Fx) -> list[Fx]:
        return [x.to(self.result) for _ in self.outputs]


@handles("Transpose")
class TransposeHandler(Handler):
    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.perm = [int(p) for p in layer.get_attr("perm")]

    def __call__(self, x: Fx) -> Fx:
        codes = x.codes.reshape(-1, *self.in_shapes[0]).transpose(0, *[p + 1 for p in self.perm])
        return Fx(codes.reshape(len(codes), -1), x.type).to(self.result)


# -- multiply-accumulate layers: Dense, Conv1D/2D, pointwise and depthwise convolutions ------------------

_LATENCY_KERNELS = {"DenseLatency", "DepthwiseDenseLatency"}
_RESOURCE_KERNELS = {"DenseResource_rf_leq_nin", "DenseResource_rf_gt_nin_rem0", "DenseResource_rf_gt_nin",
                     "DepthwiseDenseResource_rf_leq_nout", "DepthwiseDenseResource_rf_gt_nout_rem0",
                     "DepthwiseDenseResource_rf_gt_nout"}


class Accumulator:
    """``res = res_T(acc)`` with ``acc = accum_t(bias)`` and ``acc += accum_t(x_k * w_k)`` over k, as
    every dense/conv kernel of nnet_utils computes it (dense_latency, dense_resource_*, the conv
    and depthwise kernels). Each product is assigned to accum_t (quantised, overflowed); sums of
    values on the accum_t grid are exact, so only overflow of the running sum can depend on the
    order of the additions. When no running sum can leave accum_t's range, or accum_t wraps
    (plain modular arithmetic), the order is irrelevant; otherwise the kernel's order is replayed
    (``dense_latency``: k ascending) or the layer is unsupported.
    """

    def __init__(self, layer, w: np.ndarray, wt: FixedType, b: np.ndarray, bt: FixedType, xt: FixedType,
                 accum: FixedType, result: FixedType, kernel: str, depthwise: bool = False):
        self.name, self.depthwise = layer.name, depthwise
        self.w, self.xt, self.accum, self.result = w.astype(np.int64), xt, accum, result  # w: (K, F) or (K, C)
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
        if not (self.free or self.modular) and kernel not in _LATENCY_KERNELS:
            raise EmulationUnsupported(
                f"layer {layer.name}: its {accum} accumulator can overflow and saturate, which depends on the "
                f"summation order of the {kernel} kernel (only the latency kernels' order is emulated)")
        K = self.w.shape[0]
        if accum.width + int(np.ceil(np.log2(K + 2))) > 62 and not self.modular:
            raise EmulationUnsupported(f"layer {layer.name}: sums of {K} {accum} values exceed 62 bits")
        # float64 BLAS is exact while every partial sum stays below 2**53
        self.blas = self.shift >= 0 and self.free and max(abs(lo), abs(hi)) < 2**52

    def _partial_sum_bounds(self) -> tuple[int, int]:
        """Bounds of every running sum (any order, any subset) over all inputs of type xt."""
        xlo, xhi = self.xt.min_code, self.xt.max_code
        p1, p2 = self.w * xlo, self.w * xhi
        pmin, pmax = np.minimum(p1, p2), np.maximum(p1, p2)
        if self.shift >= 0:
            pmin, pmax = pmin << self.shift, pmax << self.shift
        else:  # quantised products move by at most one step beyond the truncated bound
            pmin, pmax = (pmin >> -self.shift) - 1, (pmax >> -self.shift) + 1
        lo = np.minimum(self.bias, 0) + np.minimum(pmin, 0).sum(axis=0)
        hi = np.maximum(self.bias, 0) + np.maximum(pmax, 0).sum(axis=0)
        return int(lo.min(initial=0)), int(hi.max(initial=0))

    def products(self, x: np.ndarray) -> np.ndarray:
        """accum_t(x_k * w_k): (M, K, F) for dense, (M, K, C) for depthwise (x: (M, K) / (M, K, C))."""
        p = x[:, :, None] * self.w[None] if not self.depthwise else x * self.w[None]
        return p << self.shift if self.shift >= 0 and self.free else convert(p, self.pfrac, self.accum)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = x.astype(np.int64)
        if self.blas and not self.depthwise:
            acc = self.bias + (np.rint(x.astype(np.float64) @ self.w.astype(np.float64)).astype(np.int64) << self.shift)
        elif (self.free or self.modular) and self.shift >= 0 and not self.depthwise:
            acc = self.bias + ((x @ self.w) << self.shift)  # int64 wraps modulo 2**64: low bits stay exact
        else:
            out = []
            for start in range(0, len(x), max(1, 2**22 // max(1, self.w.size))):  # bounded memory
                p = self.products(x[start:start + max(1, 2**22 // max(1, self.w.size))])
                if self.free or self.modular:
                    out.append(self.bias + p.sum(axis=1))
                else:  # dense_latency: acc = bias; acc += mult[k] for k ascending, overflowing each time
                    acc = np.broadcast_to(self.bias, (len(p), p.shape[2])).copy()
                    for k in range(p.shape[1]):
                        acc = convert(acc + p[:, k], self.accum.frac, self.accum)
                    out.append(acc)
            acc = np.concatenate(out) if out else np.zeros((0, self.w.shape[-1]), np.int64)
        if self.modular and not self.free:
            acc = wrap(acc, self.accum.width, self.accum.signed)
        return convert(acc, self.accum.frac, self.result)


def _kernel_name(layer) -> str:
    kernel = config_word(layer, r"using kernel = nnet::(\w+)<")
    product = config_word(layer, r"using product = nnet::product::(\w+)<")
    if product and product != "mult":
        raise EmulationUnsupported(f"layer {layer.name}: product '{product}' (binary/ternary/exponent weights)")
    if kernel not in _LATENCY_KERNELS | _RESOURCE_KERNELS:
        raise EmulationUnsupported(f"layer {layer.name}: dense kernel '{kernel}' is not emulated")
    return kernel


@handles("Dense")
class DenseHandler(Handler):
    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        w, wt = weights(layer, "weight")
        b, bt = weights(layer, "bias")
        xt = FixedType.from_precision(layer.get_input_variable().type.precision, f"the input of {layer.name}")
        n_in, n_out = int(layer.get_attr("n_in")), int(layer.get_attr("n_out"))
        self.acc = Accumulator(layer, w.reshape(n_in, n_out), wt, b.reshape(n_out), bt, xt,
                               named_type(layer, "accum_t"), self.result, _kernel_name(layer))

    def __call__(self, x: Fx) -> Fx:
        return Fx(self.acc(x.codes), self.result)


class ConvGeometry:
    """Where each output pixel reads its inputs: (out_pixels, kernel taps) indices into the input
    pixels, -1 for zero padding (the im2col fill_buffer / the stream line buffer)."""

    def __init__(self, layer, two_d: bool):
        if two_d:
            in_h, in_w = config_int(layer, "in_height"), config_int(layer, "in_width")
            fh, fw = config_int(layer, "filt_height"), config_int(layer, "filt_width")
            sh, sw = config_int(layer, "stride_height"), config_int(layer, "stride_width")
            pt, pl = config_int(layer, "pad_top"), config_int(layer, "pad_left")
            out_h, out_w = config_int(layer, "out_height"), config_int(layer, "out_width")
            dh, dw = config_int(layer, "dilation_height", 1), config_int(layer, "dilation_width", 1)
        else:
            in_h = fh = sh = out_h = dh = 1
            pt = 0
            in_w, fw = config_int(layer, "in_width"), config_int(layer, "filt_width")
            sw, pl, out_w = config_int(layer, "stride_width"), config_int(layer, "pad_left"), config_int(layer, "out_width")
            dw = config_int(layer, "dilation", 1)
        if dh != 1 or dw != 1:
            raise EmulationUnsupported(f"layer {layer.name}: dilated convolution")
        oy, ox, ky, kx = np.meshgrid(np.arange(out_h), np.arange(out_w), np.arange(fh), np.arange(fw), indexing="ij")
        iy, ix = oy * sh + ky - pt, ox * sw + kx - pl
        inside = (iy >= 0) & (iy < in_h) & (ix >= 0) & (ix < in_w)
        self.index = np.where(inside, iy * in_w + ix, -1).reshape(out_h * out_w, fh * fw)
        self.n_chan = config_int(layer, "n_chan")

    def patches(self, codes: np.ndarray) -> np.ndarray:
        """(samples * out_pixels, taps, channels) input codes, zero where padded."""
        n = len(codes)
        pixels = codes.reshape(n, -1, self.n_chan)
        padded = np.concatenate([pixels, np.zeros((n, 1, self.n_chan), np.int64)], axis=1)
        taps = padded[:, self.index]  # index -1 -> the zero pixel
        return taps.reshape(n * self.index.shape[0], self.index.shape[1], self.n_chan)


@handles("Conv1D", "Conv2D", "PointwiseConv1D", "PointwiseConv2D")
class ConvHandler(Handler):
    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        two_d = "2D" in layer.class_name
        self.geometry = ConvGeometry(layer, two_d)
        w, wt = weights(layer, "weight")
        b, bt = weights(layer, "bias")
        xt = FixedType.from_precision(layer.get_input_variable().type.precision, f"the input of {layer.name}")
        n_filt = config_int(layer, "n_filt")
        kernel = _kernel_name(layer)
        self.acc = Accumulator(layer, w.reshape(-1, n_filt), wt, b.reshape(n_filt), bt, xt,
                               named_type(layer, "accum_t"), self.result, kernel)

    def __call__(self, x: Fx) -> Fx:
        n = len(x.codes)
        cols = self.geometry.patches(x.codes)
        return Fx(self.acc(cols.reshape(len(cols), -1)).reshape(n, -1), self.result)


@handles("DepthwiseConv1D", "DepthwiseConv2D")
class DepthwiseConvHandler(Handler):
    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        two_d = "2D" in layer.class_name
        self.geometry = ConvGeometry(layer, two_d)
        if config_int(layer, "n_filt") != self.geometry.n_chan:
            raise EmulationUnsupported(f"layer {layer.name}: depth multiplier other than 1")
        kernel = _kernel_name(layer)
        if io_type == "io_parallel" and kernel not in _LATENCY_KERNELS:
            raise EmulationUnsupported(f"layer {layer.name}: hls4ml's parallel depthwise conv asserts the Latency strategy")
        w, wt = weights(layer, "weight")
        b, bt = weights(layer, "bias")
        xt = FixedType.from_precision(layer.get_input_variable().type.precision, f"the input of {layer.name}")
        c = self.geometry.n_chan
        self.acc = Accumulator(layer, w.reshape(-1, c), wt, b.reshape(c), bt, xt, named_type(layer, "accum_t"),
                               self.result, kernel, depthwise=True)

    def __call__(self, x: Fx) -> Fx:
        n = len(x.codes)
        return Fx(self.acc(self.geometry.patches(x.codes)).reshape(n, -1), self.result)


@handles("BatchNormalization", "ApplyAlpha")
class BatchNormHandler(Handler):
    """``normalize``: res = res_T(x * scale + bias), scale and bias per channel (or per element)."""

    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        if cpp_function(layer) != "normalize":
            raise EmulationUnsupported(f"layer {layer.name}: {cpp_function(layer)} (binary/ternary batch norm)")
        product = config_word(layer, r"using product = nnet::product::(\w+)<")
        if product and product != "mult":
            raise EmulationUnsupported(f"layer {layer.name}: product '{product}'")
        self.scale, self.st = weights(layer, "scale")
        self.bias, self.bt = weights(layer, "bias")
        self.scale, self.bias = self.scale.ravel(), self.bias.ravel()
        self.xt = FixedType.from_precision(layer.get_input_variable().type.precision, f"the input of {layer.name}")
        self.frac = self.xt.frac + self.st.frac
        if self.xt.width + self.st.width > 62 or self.frac - self.bt.frac + self.bt.width > 62:
            raise EmulationUnsupported(f"layer {layer.name}: {self.xt} x {self.st} exceeds 62 bits")
        self.n_filt = config_int(layer, "n_filt", -1)

    def __call__(self, x: Fx) -> Fx:
        n_in = x.codes.shape[1]
        idx = np.arange(n_in) % self.n_filt if self.n_filt not in (-1, 4294967295) else np.arange(n_in)
        shift = self.frac - self.bt.frac
        if shift >= 0:
            exact, frac = x.codes * self.scale[idx] + (self.bias[idx] << shift), self.frac
        else:
            exact, frac = ((x.codes * self.scale[idx]) << -shift) + self.bias[idx], self.bt.frac
        return Fx(convert(exact, frac, self.result), self.result)


# -- activations ---------------------------------------------------------------------------------

@handles("Activation:relu")
class ReluHandler(Handler):
    def __call__(self, x: Fx) -> Fx:
        return Fx(convert(np.where(x.codes > 0, x.codes, 0), x.type.frac, self.result), self.result)


def _table_input(name: str, size: int) -> np.ndarray:
    """The float x of each table entry (``init_*_table``: computed in double, stored as float)."""
    i = np.arange(size, dtype=np.float64)
    if name == "tanh":
        return (2 * 4.0 * (i - float(size) / 2.0) / float(size)).astype(np.float32)
    return (2 * 8.0 * (i - float(size) / 2.0) / float(size)).astype(np.float32)


def _sigmoid(x):
    """``1.0 / (1 + std::exp(-x))``: the sum in float (int + float), the division in double."""
    return (1.0 / (np.float32(1) + libm_float("expf", -x)).astype(np.float64)).astype(np.float32)


def _softsign(x):
    return (x.astype(np.float64) / (np.abs(x.astype(np.float64)) + 1.0)).astype(np.float32)


TABLE_FUNCTIONS = {"sigmoid": _sigmoid, "tanh": lambda x: libm_float("tanhf", x), "softsign": _softsign}
# input range of each table: index = trunc(x * size / span) + size / 2
TABLE_SPAN = {"sigmoid": 16, "tanh": 8, "softsign": 16}


@lru_cache(maxsize=None)
def lookup_table(name: str, size: int, table_t: FixedType) -> np.ndarray:
    return from_double(TABLE_FUNCTIONS[name](_table_input(name, size)).astype(np.float64), table_t)


@handles("Activation:sigmoid", "Activation:tanh", "Activation:softsign")
class TableActivationHandler(Handler):
    """sigmoid / tanh / softsign: a table computed at start-up with the C library's float functions,
    indexed by ``int(x * table_size / span) + table_size / 2`` (truncating, clamped)."""

    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.function = cpp_function(layer)
        self.size = config_int(layer, "table_size")
        self.table_t = named_type(layer, "table_t")
        self.table = lookup_table(self.function, self.size, self.table_t)

    def __call__(self, x: Fx) -> Fx:
        span = TABLE_SPAN[self.function]
        # ap_fixed * unsigned / int: exact product, quotient truncated toward zero, int() truncates
        # (the quotient keeps x's fractional bits; int() truncates the value and keeps 32 bits)
        quotient = trunc_div(x.codes * self.size, span)
        frac = x.type.frac
        data_round = wrap(trunc_div(quotient, 1 << frac) if frac >= 0 else quotient << -frac, 32, True)
        index = np.clip(wrap(data_round + (span // 2) * self.size // span, 32, True), 0, self.size - 1)
        return Fx(convert(self.table[index], self.table_t.frac, self.result), self.result)


@handles("ParametrizedActivation:leaky_relu", "ParametrizedActivation:thresholded_relu")
class ParametrizedActivationHandler(Handler):
    """leaky_relu: x > 0 ? x : alpha * x; thresholded_relu: x > theta ? x : 0. The parameter is a
    literal in the call, converted to param_t."""

    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.function = cpp_function(layer)
        self.param_t = named_type(layer, "param_t")
        self.param = int(from_double(np.array([float(layer.get_attr("activ_param", 1.0))]), self.param_t)[0])

    def __call__(self, x: Fx) -> Fx:
        if self.function == "leaky_relu":
            frac = x.type.frac + self.param_t.frac
            positive = x.codes << self.param_t.frac if self.param_t.frac >= 0 else None
            if positive is None:
                raise EmulationUnsupported(f"layer {self.name}: param_t with negative fractional bits")
            exact = np.where(x.codes > 0, positive, x.codes * self.param)
            return Fx(convert(exact, frac, self.result), self.result)
        # compare x with theta exactly on a common grid
        f = max(x.type.frac, self.param_t.frac)
        above = (x.codes << (f - x.type.frac)) > (self.param << (f - self.param_t.frac))
        return Fx(convert(np.where(above, x.codes, 0), x.type.frac, self.result), self.result)


@handles("PReLU")
class PReluHandler(Handler):
    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.alpha, self.param_t = weights(layer, "param")
        self.alpha = self.alpha.ravel()
        if self.param_t.frac < 0:
            raise EmulationUnsupported(f"layer {self.name}: param_t with negative fractional bits")

    def __call__(self, x: Fx) -> Fx:
        exact = np.where(x.codes > 0, x.codes << self.param_t.frac, x.codes * self.alpha[: x.codes.shape[1]])
        return Fx(convert(exact, x.type.frac + self.param_t.frac, self.result), self.result)


def reduce_tree(values: list, op):
    """nnet::reduce: a balanced tree, the left part the largest power of two below N."""
    n = len(values)
    if n == 1:
        return values[0]
    if n == 2:
        return op(values[0], values[1])
    left = 1 << int(np.floor(np.log2(n - 1))) if n > 1 else 0
    return op(reduce_tree(values[:left], op), reduce_tree(values[left:], op))


@handles("Softmax")
class SoftmaxHandler(Handler):
    """softmax_stable and softmax_latency (nnet_activation.h / _stream.h): exp and 1/x tables
    computed at start-up in float, indexed by the top bits of the input's code, an adder tree in
    accum_t, and res = exp * inv(sum)."""

    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.implementation = str(layer.get_attr("implementation", "stable")).lower()
        if self.implementation not in ("stable", "latency"):
            raise EmulationUnsupported(f"layer {layer.name}: softmax implementation '{self.implementation}'")
        if cpp_function(layer) != "softmax":
            raise EmulationUnsupported(f"layer {layer.name}: {cpp_function(layer)} (softmax over an inner axis)")
        self.exp_size, self.inv_size = config_int(layer, "exp_table_size"), config_int(layer, "inv_table_size")
        self.exp_t, self.inv_t = named_type(layer, "exp_table_t"), named_type(layer, "inv_table_t")
        self.accum, self.inv_inp_t = named_type(layer, "accum_t"), named_type(layer, "inv_inp_t")
        self.xt = FixedType.from_precision(layer.get_input_variable().type.precision, f"the input of {layer.name}")
        scale = config_word(layer, r"exp_scale\s*=\s*([-0-9.eE+]+)\s*;")
        self.exp_scale = np.float32(float(scale) if scale else 1.0)
        if self.implementation == "stable":
            self.norm_t = FixedType.parse(config_word(layer, r"typedef\s+([^;]+?)\s+inp_norm_t\s*;"))
        shape = self.in_shapes[0]  # a stream applies the softmax to each pack (the last axis)
        self.n_slice = shape[-1] if io_type == "io_stream" else config_int(layer, "n_slice")
        if io_type == "io_parallel" and self.n_slice != int(np.prod(shape)):
            raise EmulationUnsupported(f"layer {layer.name}: softmax over a multi-dimensional input")
        self.exp_table, self.inv_table = self._tables()

    def _tables(self):
        index_t = self.norm_t if self.implementation == "stable" else self.xt
        n_exp, n_inv = int(np.ceil(np.log2(self.exp_size))), int(np.ceil(np.log2(self.inv_size)))
        x = (code_with_top_bits(np.arange(self.exp_size), index_t, n_exp).astype(np.float64)
             * 2.0 ** -index_t.frac).astype(np.float32) * self.exp_scale
        if self.implementation == "stable":
            x = -x
        exp_table = from_double(libm_float("expf", x).astype(np.float64), self.exp_t)
        y = (code_with_top_bits(np.arange(self.inv_size), self.inv_inp_t, n_inv).astype(np.float64)
             * 2.0 ** -self.inv_inp_t.frac).astype(np.float32)
        with np.errstate(divide="ignore"):
            inv = (np.float32(1) / y).astype(np.float64)
        return exp_table, from_double(inv, self.inv_t)

    def __call__(self, x: Fx) -> Fx:
        n = len(x.codes)
        slices = x.codes.reshape(n, -1, self.n_slice)
        n_exp, n_inv = int(np.ceil(np.log2(self.exp_size))), int(np.ceil(np.log2(self.inv_size)))
        if self.implementation == "stable":
            cols = [slices[..., j] for j in range(self.n_slice)]
            x_max = reduce_tree(cols, lambda a, b: np.where(a >= b, a, b))
            d = convert(x_max[..., None] - slices, x.type.frac, self.norm_t)
            index = top_bits(d, self.norm_t, n_exp)
        else:
            index = top_bits(slices, x.type, n_exp)
        exp_res = convert(self.exp_table[index], self.exp_t.frac, self.accum)
        acc = self.accum
        total = reduce_tree([exp_res[..., j] for j in range(self.n_slice)],
                            lambda a, b: convert(a + b, acc.frac, acc))
        exp_sum = convert(total, acc.frac, self.inv_inp_t)
        inv = self.inv_table[top_bits(exp_sum, self.inv_inp_t, n_inv)]
        res = convert(exp_res * inv[..., None], acc.frac + self.inv_t.frac, self.result)
        return Fx(res.reshape(n, -1), self.result)


# -- pooling -------------------------------------------------------------------------------------

def _pad_value(t: FixedType) -> int:
    """pad_val<T, Max>: a code with only the top bit set (the minimum of a signed type)."""
    return int(wrap(np.array([1 << (t.width - 1)]), t.width, t.signed)[0])


@handles("Pooling1D", "Pooling2D")
class PoolingHandler(Handler):
    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.geometry = _pool_geometry(layer, layer.class_name == "Pooling2D")
        self.op = config_word(layer, r"pool_op\s*=\s*nnet::(\w+)\s*;")
        if self.op not in ("Max", "Average"):
            raise EmulationUnsupported(f"layer {layer.name}: pooling op {self.op}")
        self.count_pad = "count_pad = true" in (layer.get_attr("config_cpp") or "")
        self.accum = named_type(layer, "accum_t")
        self.xt = FixedType.from_precision(layer.get_input_variable().type.precision, f"the input of {layer.name}")

    def __call__(self, x: Fx) -> Fx:
        n, g = len(x.codes), self.geometry
        pixels = x.codes.reshape(n, -1, g.n_chan)
        inside = g.index >= 0  # (out, taps)
        if self.io_type == "io_stream":
            # compute_pool_buffer: the window in accum_t, reduce_pool (tree), sum / N
            win = convert(pixels[:, np.where(inside, g.index, 0)], x.type.frac, self.accum)  # (n, out, taps, c)
            cols = [win[:, :, k] for k in range(win.shape[2])]
            acc = self.accum
            if self.op == "Max":
                out = reduce_tree(cols, lambda a, b: np.where(a >= b, a, b))
            else:
                total = reduce_tree(cols, lambda a, b: convert(a + b, acc.frac, acc))
                out = trunc_div(total, len(cols))
            return Fx(convert(out, acc.frac, self.result).reshape(n, -1), self.result)
        # pooling*d_cl: padded cells hold pad_val; max in data_T, or a running sum in accum_t / overlap
        pad = _pad_value(x.type) if self.op == "Max" else 0
        padded = np.concatenate([pixels, np.full((n, 1, g.n_chan), pad, np.int64)], axis=1)
        win = padded[:, g.index]  # (n, out, taps, c)
        if self.op == "Max":
            out = win[:, :, 0]
            for k in range(1, win.shape[2]):
                out = np.where(win[:, :, k] > out, win[:, :, k], out)
            out = convert(out, x.type.frac, self.accum)
        else:
            acc = self.accum
            y = np.zeros_like(win[:, :, 0])
            for k in range(win.shape[2]):
                y = convert((y << (max(acc.frac, x.type.frac) - acc.frac)) + (win[:, :, k] << (max(acc.frac, x.type.frac) - x.type.frac)),
                            max(acc.frac, x.type.frac), acc)
            count = np.full(inside.shape[0], inside.shape[1]) if self.count_pad else inside.sum(axis=1)
            out = np.where(y < 0, -(np.abs(y) // count[None, :, None]), y // count[None, :, None])
        return Fx(convert(out, self.accum.frac, self.result).reshape(n, -1), self.result)


def _pool_geometry(layer, two_d: bool) -> ConvGeometry:
    g = ConvGeometry.__new__(ConvGeometry)
    if two_d:
        in_h, in_w = config_int(layer, "in_height"), config_int(layer, "in_width")
        fh, fw = config_int(layer, "pool_height"), config_int(layer, "pool_width")
        sh, sw = config_int(layer, "stride_height"), config_int(layer, "stride_width")
        pt, pl = config_int(layer, "pad_top"), config_int(layer, "pad_left")
        out_h, out_w = config_int(layer, "out_height"), config_int(layer, "out_width")
    else:
        in_h = fh = sh = out_h = 1
        pt = 0
        in_w, fw = config_int(layer, "n_in"), config_int(layer, "pool_width")
        sw, pl, out_w = config_int(layer, "stride_width"), config_int(layer, "pad_left"), config_int(layer, "n_out")
    oy, ox, ky, kx = np.meshgrid(np.arange(out_h), np.arange(out_w), np.arange(fh), np.arange(fw), indexing="ij")
    iy, ix = oy * sh + ky - pt, ox * sw + kx - pl
    inside = (iy >= 0) & (iy < in_h) & (ix >= 0) & (ix < in_w)
    g.index = np.where(inside, iy * in_w + ix, -1).reshape(out_h * out_w, fh * fw)
    g.n_chan = config_int(layer, "n_filt")
    return g


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
        n = len(x.codes)
        pixels = x.codes.reshape(n, -1, self.n_filt)
        acc = self.accum
        if self.io_type == "io_stream":
            # a running max/sum in accum_t over the pixels as they stream in (one pixel per read)
            win = convert(pixels, x.type.frac, acc)
            if self.op == "Max":  # hls::numeric_limits<accum_t>::min(): only plain ap_fixed gets its minimum
                start = acc.min_code if acc.signed and acc.sat_bits == 0 else 0
                out = np.full((n, self.n_filt), start, np.int64)
                for p in range(win.shape[1]):
                    out = np.where(out > win[:, p], out, win[:, p])
                return Fx(convert(out, acc.frac, self.result), self.result)
            out = np.zeros((n, self.n_filt), np.int64)
            for p in range(win.shape[1]):
                out = convert(out + win[:, p], acc.frac, acc)
            return Fx(convert(trunc_div(out, win.shape[1]), acc.frac, self.result), self.result)
        if self.op == "Max":
            out = pixels[:, 0]
            for p in range(1, pixels.shape[1]):
                out = np.where(pixels[:, p] > out, pixels[:, p], out)
            return Fx(convert(convert(out, x.type.frac, acc), acc.frac, self.result), self.result)
        f = max(acc.frac, x.type.frac)
        y = np.zeros((n, self.n_filt), np.int64)
        for p in range(pixels.shape[1]):
            y = convert((y << (f - acc.frac)) + (pixels[:, p] << (f - x.type.frac)), f, acc)
        return Fx(convert(trunc_div(y, pixels.shape[1]), acc.frac, self.result), self.result)


# -- padding, merging ------------------------------------------------------------------------------

@handles("ZeroPadding1D", "ZeroPadding2D")
class ZeroPaddingHandler(Handler):
    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        two_d = layer.class_name == "ZeroPadding2D"
        n_chan = config_int(layer, "n_chan")
        if two_d:
            in_h, in_w = config_int(layer, "in_height"), config_int(layer, "in_width")
            out_h, out_w = config_int(layer, "out_height"), config_int(layer, "out_width")
            top, left = config_int(layer, "pad_top"), config_int(layer, "pad_left")
        else:
            in_h = out_h = 1
            top = 0
            in_w, out_w, left = config_int(layer, "in_width"), config_int(layer, "out_width"), config_int(layer, "pad_left")
        oy, ox = np.meshgrid(np.arange(out_h), np.arange(out_w), indexing="ij")
        iy, ix = oy - top, ox - left
        inside = (iy >= 0) & (iy < in_h) & (ix >= 0) & (ix < in_w)
        self.index, self.n_chan = np.where(inside, iy * in_w + ix, -1).ravel(), n_chan

    def __call__(self, x: Fx) -> Fx:
        n = len(x.codes)
        pixels = convert(x.codes, x.type.frac, self.result).reshape(n, -1, self.n_chan)
        padded = np.concatenate([pixels, np.zeros((n, 1, self.n_chan), np.int64)], axis=1)
        return Fx(padded[:, self.index].reshape(n, -1), self.result)


def _common_grid(a: Fx, b: Fx) -> tuple[np.ndarray, np.ndarray, int]:
    f = max(a.type.frac, b.type.frac)
    return a.codes << (f - a.type.frac), b.codes << (f - b.type.frac), f


@handles("Merge")
class MergeHandler(Handler):
    """add / subtract / multiply / average / maximum / minimum, broadcasting by ``ii % n_elem``."""

    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        self.op = cpp_function(layer)
        if self.op not in ("add", "subtract", "multiply", "average", "maximum", "minimum"):
            raise EmulationUnsupported(f"layer {layer.name}: merge '{self.op}'")

    def __call__(self, a: Fx, b: Fx) -> Fx:
        n_out = max(a.codes.shape[1], b.codes.shape[1])
        ia, ib = np.arange(n_out) % a.codes.shape[1], np.arange(n_out) % b.codes.shape[1]
        a, b = Fx(a.codes[:, ia], a.type), Fx(b.codes[:, ib], b.type)
        if self.op == "multiply":
            return Fx(convert(a.codes * b.codes, a.type.frac + b.type.frac, self.result), self.result)
        ca, cb, f = _common_grid(a, b)
        if self.op in ("maximum", "minimum"):
            pick_a = ca > cb if self.op == "maximum" else ca < cb
            return Fx(np.where(pick_a, a.to(self.result).codes, b.to(self.result).codes), self.result)
        exact = {"add": ca + cb, "subtract": ca - cb, "average": ca + cb}[self.op]
        return Fx(convert(exact, f + (1 if self.op == "average" else 0), self.result), self.result)


@handles("Concatenate")
class ConcatenateHandler(Handler):
    def __init__(self, layer, io_type):
        super().__init__(layer, io_type)
        axis = int(layer.get_attr("axis", -1))
        self.axis = axis if axis < 0 else axis  # keras axes count the batch axis, like the (n, ...) arrays

    def __call__(self, a: Fx, b: Fx) -> Fx:
        n = len(a.codes)
        ca = a.to(self.result).codes.reshape(n, *self.in_shapes[0])
        cb = b.to(self.result).codes.reshape(n, *self.in_shapes[1])
        return Fx(np.concatenate([ca, cb], axis=self.axis).reshape(n, -1), self.result)


def handler_for(layer, io_type: str) -> Handler:
    """The handler of a converted hls4ml layer; activations are dispatched by their C++ function."""
    kind = layer.class_name
    if kind in ("Activation", "ParametrizedActivation"):
        key = f"{kind}:{cpp_function(layer)}"
    else:
        key = kind
    cls = HANDLERS.get(key)
    if cls is None:
        what = f"{kind} ({cpp_function(layer)})" if ":" in key else kind
        raise EmulationUnsupported(f"layer {layer.name}: {what} is not emulated")
    return cls(layer, io_type)
