"""Bit-exact NumPy emulation of hls4ml's C simulation (Vivado/Vitis backends): the predictions of
a converted hls4ml model without compiling it.

    emulator = Emulator(hls_model)      # EmulationUnsupported(reason) -> use the C simulation
    y = emulator.predict(X)             # == hls_model.predict(X) after compile()
    verify(emulator, hls_model, X)      # EmulationMismatch naming the first differing layer

``fixedpoint`` holds the ap_fixed arithmetic on integer codes, ``layers`` one handler per hls4ml
layer class, ``model`` the graph walk and the comparison with the C simulation.
"""

from .fixedpoint import EmulationUnsupported, FixedType
from .layers import Fx
from .model import EmulationMismatch, Emulator, compare, first_mismatch, simulate, verify

__all__ = ["EmulationMismatch", "EmulationUnsupported", "Emulator", "FixedType", "Fx", "compare", "first_mismatch",
           "simulate", "verify"]
