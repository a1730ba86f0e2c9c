"""Bit-exact NumPy emulation of hls4ml's C simulation (Vivado/Vitis nnet_utils, hls4ml 1.3): the
predictions of a converted hls4ml model without compiling it.

    emulator = Emulator(hls_model)      # EmulationUnsupported(reason) -> use the C simulation
    y = emulator.predict(X)             # == hls_model.predict(X) after compile()
    verify(emulator, hls_model, X)      # EmulationMismatch naming the first differing layer

``fixedpoint`` holds the ap_fixed arithmetic on int64 codes, ``layers`` one handler per hls4ml
layer class, ``schedules`` the accumulation order of the multiply-accumulate kernels, ``model``
the graph walk and the comparison with the C simulation.

Reported unsupported (the caller falls back to the C simulation): types wider than 62 bits (e.g.
chains of 'auto' accumulators without an activation between them), binary/ternary/exponent
types, softmax other than 'stable' and 'latency' or over an inner axis, activations other than
linear, ReLU, LeakyReLU, sigmoid and tanh (e.g. ELU, PReLU, softsign, hard sigmoid), Transpose,
UpSampling/Resize, Cropping, Dot, and the
places where hls4ml 1.3's own C++ does not compute the layer: the io_parallel depthwise conv under
Resource (an assertion aborts), io_parallel conv_*d_resource_cl with a reuse factor above the
kernel's inputs (it reads past its buffer), a ``DenseResource_rf_gt_nin`` kernel (no such class:
the project does not compile), an io_stream element-wise layer whose input and output streams pack
different numbers of elements (after an in-place flatten), and a depthwise kernel into which a
BatchNormalization was fused with a broadcast shape.
"""

from .fixedpoint import EmulationUnsupported, FixedType
from .layers import Fx
from .model import EmulationMismatch, Emulator, compare, first_mismatch, simulate, verify

__all__ = ["EmulationMismatch", "EmulationUnsupported", "Emulator", "FixedType", "Fx", "compare", "first_mismatch",
           "simulate", "verify"]
