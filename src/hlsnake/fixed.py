"""Fixed-point types as text (``ap_fixed<16,6>``, ``ufixed<6,0>``, ``ap_int<8>``)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

_FIXED = re.compile(r"(?:ap_)?(u?)fixed<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,[^>]*)?>")
_INT = re.compile(r"(?:ap_)?(u?)int<\s*(\d+)\s*>")


@dataclass(frozen=True)
class Fixed:
    width: int
    integer: int  # bits left of the binary point, sign included for signed types
    signed: bool = True

    @property
    def fractional(self) -> int:
        return self.width - self.integer

    @classmethod
    def parse(cls, text: str) -> "Fixed":
        text = text.strip()
        match = _FIXED.fullmatch(text)
        if match:
            return cls(int(match[2]), int(match[3]), match[1] != "u")
        match = _INT.fullmatch(text)
        if match:
            return cls(int(match[2]), int(match[2]), match[1] != "u")
        raise ValueError(f"not a fixed-point type: {text!r} (expected e.g. ap_fixed<16,6>)")

    def __str__(self) -> str:
        return f"ap_{'' if self.signed else 'u'}fixed<{self.width},{self.integer}>"


def quantize_to(values: np.ndarray, precision) -> np.ndarray:
    """Values as a fixed-point type holds them (truncation, wrap-around), as floats."""
    fx = precision if isinstance(precision, Fixed) else Fixed.parse(str(precision))
    scale = 2.0**fx.fractional
    codes = np.floor(np.asarray(values, dtype=np.float64) * scale)
    span = 2.0**fx.width
    low = -(2.0 ** (fx.width - 1)) if fx.signed else 0.0
    codes = np.mod(codes - low, span) + low
    return codes / scale


def integer_bits(max_abs: float, bits: int, signed: bool) -> int:
    """Integer bits (excluding the sign) that cover ``max_abs``, at most what ``bits`` allows."""
    needed = max(0, math.ceil(math.log2(max_abs))) if max_abs > 0 else 0
    return min(needed, bits - (1 if signed else 0))
