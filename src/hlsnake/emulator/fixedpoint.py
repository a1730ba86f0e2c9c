"""ap_fixed arithmetic on int64 integer codes, bit-exact with the ap_types headers hls4ml ships.

A value of type ``ap_fixed<W, I>`` is held as its integer code ``v * 2**(W - I)``. Products and
sums of ap_fixed values are exact in C++ (the result types are wide enough), so only the
*conversions* between types lose information; :func:`convert` reproduces them: the quantisation
modes (ap_fixed_base.h ``quantization_adjust``) and the overflow modes (``overflow_adjust``,
including AP_WRAP with saturation bits and AP_SAT_SYM). :func:`from_double` is the
``ap_fixed(double)`` constructor that reads the inputs and the weight text files.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..fixed import Fixed

MAX_BITS = 62  # widest code (sign included) the int64 arithmetic holds with a spare bit for sums

ROUNDING_MODES = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_MIN_INF", "RND_CONV")
OVERFLOW_MODES = ("WRAP", "SAT", "SAT_ZERO", "SAT_SYM")


class EmulationUnsupported(Exception):
    """The emulator cannot reproduce this model bit-exactly (the reason names the layer or type);
    the caller falls back to the C simulation."""


@dataclass(frozen=True)
class FixedType:
    """An ap_fixed / ap_ufixed type, or an ap_int / ap_uint (``is_int``: no quantisation or overflow
    modes; assignments truncate toward zero and wrap)."""

    width: int
    integer: int
    signed: bool = True
    rounding: str = "TRN"
    saturation: str = "WRAP"
    sat_bits: int = 0
    is_int: bool = False

    def __post_init__(self):
        if self.rounding not in ROUNDING_MODES:
            raise EmulationUnsupported(f"rounding mode {self.rounding} of {self}")
        if self.saturation not in OVERFLOW_MODES:
            raise EmulationUnsupported(f"overflow mode {self.saturation} of {self}")
        if not 1 <= self.width <= MAX_BITS:
            raise EmulationUnsupported(f"{self} is {self.width} bits wide; the emulator holds up to {MAX_BITS}")

    @property
    def frac(self) -> int:
        return self.width - self.integer

    @property
    def min_code(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_code(self) -> int:
        return (1 << (self.width - (1 if self.signed else 0))) - 1

    def __str__(self) -> str:
        if self.is_int:
            return f"ap_{'' if self.signed else 'u'}int<{self.width}>"
        return (f"ap_{'' if self.signed else 'u'}fixed<{self.width},{self.integer},AP_{self.rounding},"
                f"AP_{self.saturation},{self.sat_bits}>")

    @classmethod
    def from_precision(cls, precision, what: str = "") -> "FixedType":
        """The type of an hls4ml precision object (FixedPrecisionType or IntegerPrecisionType)."""
        kind = type(precision).__name__
        lineage = {c.__name__ for c in type(precision).__mro__}  # backends subclass hls4ml's types
        if lineage & {"XnorPrecisionType", "ExponentPrecisionType"}:
            raise EmulationUnsupported(f"{what or 'a tensor'} has type {precision} ({kind}): binary/exponent types")
        if "FixedPrecisionType" in lineage:
            return cls(int(precision.width), int(precision.integer), bool(precision.signed),
                       precision.rounding_mode.name, precision.saturation_mode.name, int(precision.saturation_bits or 0))
        if "IntegerPrecisionType" in lineage:
            return cls(int(precision.width), int(precision.width), bool(precision.signed), is_int=True)
        raise EmulationUnsupported(f"{what or 'a tensor'} has type {precision} ({kind}); only ap_fixed/ap_int are emulated")

    @classmethod
    def parse(cls, text: str) -> "FixedType":
        """A C++ type as hls4ml writes it into a config, e.g. ``ap_ufixed<15, 5>`` or
        ``ap_fixed<18,8,AP_RND,AP_SAT,0>``."""
        try:
            base = Fixed.parse(text)
        except ValueError as exc:
            raise EmulationUnsupported(str(exc)) from None
        if "int<" in text:
            return cls(base.width, base.integer, base.signed, is_int=True)
        modes = [m.strip().replace("AP_", "") for m in text[text.index("<") + 1:text.rindex(">")].split(",")[2:]]
        rounding, saturation, bits = modes + ["TRN", "WRAP", "0"][len(modes):]
        return cls(base.width, base.integer, base.signed, rounding, saturation, int(bits))


# -- conversions -------------------------------------------------------------------------------

def _increment(mode: str, floor, qb, r, neg):
    """The rounding increment of ``quantization_adjust``: qb is the first dropped bit, r whether any
    bit below it is set, neg the sign of the source."""
    if mode == "TRN":
        return None
    if mode == "RND":
        return qb
    if mode == "RND_ZERO":
        return qb & (neg | r)
    if mode == "RND_MIN_INF":
        return qb & r
    if mode == "RND_INF":
        return qb & (~neg | r)
    if mode == "RND_CONV":
        return qb & ((floor & 1).astype(bool) | r)
    return neg & (qb | r)  # TRN_ZERO


def _overflow(q: np.ndarray, t: FixedType, over=None, under=None) -> np.ndarray:
    """``overflow_adjust``: ``q`` is the quantised code (exact, may be out of range); ``over``/
    ``under`` flag codes known to be out of range when ``q`` already holds them wrapped."""
    lo, hi = t.min_code, t.max_code
    over = q > hi if over is None else over | (q > hi)
    under = q < lo if under is None else under | (q < lo)
    if t.saturation == "SAT_SYM" and t.signed:
        under = under | (q == lo)  # AP_SAT_SYM keeps the range symmetric: the minimum is -max
    if not (over.any() or under.any()):
        return q
    if t.saturation == "SAT":
        return np.where(over, hi, np.where(under, lo, q))
    if t.saturation == "SAT_SYM":
        return np.where(over, hi, np.where(under, lo + 1 if t.signed else lo, q))
    if t.saturation == "SAT_ZERO":
        return np.where(over | under, 0, q)
    wrapped = wrap(q, t.width, t.signed)
    n = t.sat_bits
    if n == 0:
        return wrapped
    # AP_WRAP with n saturation bits: the top n bits saturate, the rest wrap
    out = wrapped & ((1 << t.width) - 1)  # raw bit pattern
    if t.signed:
        sign_bit = 1 << (t.width - 1)
        middle = ((1 << (t.width - 1)) - 1) & ~((1 << (t.width - n)) - 1)  # bits W-n .. W-2
        saturated = np.where(under, (out | sign_bit) & ~middle, (out & ~sign_bit) | middle)
    else:
        top = ((1 << t.width) - 1) & ~((1 << (t.width - n)) - 1)
        saturated = out | top
    return np.where(over | under, wrap(saturated, t.width, t.signed), wrapped)


def wrap(codes: np.ndarray, width: int, signed: bool) -> np.ndarray:
    """The low ``width`` bits of ``codes``, read as a signed or unsigned number."""
    raw = codes & ((1 << width) - 1)
    return raw - ((raw >> (width - 1)) << width) if signed else raw


def convert(codes: np.ndarray, frac: int, t: FixedType) -> np.ndarray:
    """Assign exact values (``codes * 2**-frac``) to type ``t``: ``ap_fixed_base::operator=``, or
    for an ap_int the conversion ``to_ap_int_base``: truncation toward zero, then wrap-around."""
    codes = np.asarray(codes, dtype=np.int64)
    if t.is_int:
        whole = codes if frac <= 0 else np.where(codes < 0, -((-codes) >> frac), codes >> frac)
        if frac < 0:
            if codes.size and int(np.abs(codes).max()) >= 1 << (MAX_BITS + frac):
                raise EmulationUnsupported(f"aligning a value to {t} needs more than {MAX_BITS} bits")
            whole = codes << -frac
        return wrap(whole, t.width, t.signed)
    shift = frac - t.frac
    if shift > 0:
        neg = codes < 0
        if shift > MAX_BITS:  # every bit is dropped
            floor = np.where(neg, -1, 0).astype(np.int64)
            qb, r = neg, neg | (codes != 0)
        else:
            floor = codes >> shift
            rest = codes - (floor << shift)
            half = 1 << (shift - 1)
            qb, r = rest >= half, (rest & (half - 1)) != 0
        inc = _increment(t.rounding, floor, qb, r, neg)
        q = floor if inc is None else floor + inc
    elif shift < 0:
        if codes.size and int(np.abs(codes).max()) >= 1 << (MAX_BITS + shift):
            raise EmulationUnsupported(f"aligning a value to {t} needs more than {MAX_BITS} bits")
        q = codes << -shift
    else:
        q = codes
    return _overflow(q, t)


def from_double(values, t: FixedType) -> np.ndarray:
    """``ap_fixed(double)``: the exact binary value of each double, quantised and overflowed like
    an ap_fixed of more bits (infinity counts as 2**1024, which is what the constructor reads)."""
    x = np.asarray(values, dtype=np.float64)
    if np.isnan(x).any():
        raise EmulationUnsupported("NaN input (ap_fixed does not define its conversion)")
    if t.is_int:
        return _int_from_double(x, t)
    with np.errstate(over="ignore"):
        scaled = np.ldexp(x, t.frac)
    huge = ~np.isfinite(scaled) | (np.abs(scaled) >= 2.0**MAX_BITS)
    scaled = np.where(huge, 0.0, scaled)
    floor = np.floor(scaled)
    rest = scaled - floor  # exact for doubles
    neg = x < 0
    qb, r = rest >= 0.5, (rest != 0.0) & (rest != 0.5)
    floor = floor.astype(np.int64)
    inc = _increment(t.rounding, floor, qb, r, neg)
    q = floor if inc is None else floor + inc
    if not huge.any():
        return _overflow(q, t)
    # Out of int64 range: only the sign matters, except for wrap-around, which keeps the low bits
    # of an integer-valued double (fmod is exact); infinity wraps to zero like 2**1024 does.
    with np.errstate(invalid="ignore", over="ignore"):
        low = np.fmod(np.ldexp(np.where(np.isinf(x), 0.0, x), t.frac), 2.0**t.width)
    low = np.where(huge, np.nan_to_num(low), 0).astype(np.int64)
    q = np.where(huge, wrap(low, t.width, t.signed), q)
    return _overflow(q, t, over=huge & ~neg, under=huge & neg)


def _int_from_double(x: np.ndarray, t: FixedType) -> np.ndarray:
    """``ap_int_base(double)``: the magnitude truncated (|x| < 0.5 gives -1 before the sign is applied,
    so a small negative x becomes +1), wrapped to the width, then negated for negative x."""
    magnitude = np.abs(x)
    with np.errstate(invalid="ignore"):
        exponent = np.frexp(magnitude)[1] - 1  # the unbiased exponent: 2**e <= |x| < 2**(e+1)
    too_far = ~np.isfinite(magnitude) | (exponent - 52 >= t.width)  # shifted past the register: 0
    low = np.fmod(np.floor(np.where(too_far, 0.0, magnitude)), 2.0**t.width).astype(np.int64)
    v = np.where(magnitude < 0.5, np.where(x < 0, -1, 0), low)
    v = np.where(x == 0, 0, v)
    return wrap(np.where(x < 0, -v, v), t.width, t.signed)


def to_float(codes: np.ndarray, t: FixedType, dtype=np.float64) -> np.ndarray:
    """``(float)x`` / ``(double)x`` of ap_fixed values: round to nearest even."""
    return np.ldexp(np.asarray(codes).astype(dtype), -t.frac).astype(dtype)


def top_bits(codes: np.ndarray, t: FixedType, n: int) -> np.ndarray:
    """The top ``n`` bits of the code's bit pattern (``x(W-1, W-n)``), as an unsigned index."""
    raw = np.asarray(codes, dtype=np.int64) & ((1 << t.width) - 1)
    return raw >> (t.width - n) if t.width >= n else raw << (n - t.width)


def code_with_top_bits(index: np.ndarray, t: FixedType, n: int) -> np.ndarray:
    """The code whose top ``n`` bits are ``index`` and whose other bits are zero."""
    raw = np.asarray(index, dtype=np.int64) << (t.width - n) if t.width >= n else np.asarray(index, np.int64) >> (n - t.width)
    return wrap(raw, t.width, t.signed)


def trunc_div(codes: np.ndarray, divisor: int) -> np.ndarray:
    """Integer division rounding towards zero, as ap_fixed's ``/`` by an integer does."""
    q = np.abs(codes) // divisor
    return np.where(codes < 0, -q, q)


# -- the C library's float functions, which the lookup tables are computed with -------------------

@lru_cache(maxsize=None)
def _libm():
    lib = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    for name in ("expf", "tanhf"):
        getattr(lib, name).restype = ctypes.c_float
        getattr(lib, name).argtypes = [ctypes.c_float]
    return lib


def libm_float(name: str, values: np.ndarray) -> np.ndarray:
    """``std::exp`` / ``std::tanh`` of float arguments, by the same libm as the C simulation."""
    fn = getattr(_libm(), name)
    return np.array([fn(float(v)) for v in np.asarray(values, dtype=np.float32).ravel()], dtype=np.float32)
