"""The emulator of a converted hls4ml model, and its check against the C simulation."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping

import numpy as np

from .fixedpoint import EmulationUnsupported, to_float
from .layers import Fx, InputHandler, handler_for


class EmulationMismatch(AssertionError):
    """The emulator and the C simulation disagree (the message names the first difference)."""


class Emulator:
    """Bit-exact NumPy emulation of the C simulation of an hls4ml ``ModelGraph`` as returned by
    ``convert_from_keras_model`` (no compilation needed). Raises :class:`EmulationUnsupported`,
    naming the layer, when a part of the model is not emulated."""

    def __init__(self, hls_model):
        self.io_type = hls_model.config.get_config_value("IOType")
        self.project = hls_model.config.get_project_name()
        self.handlers = [handler_for(layer, self.io_type) for layer in hls_model.get_layers()]
        self.input_handlers = {h.name: h for h in self.handlers if isinstance(h, InputHandler)}
        self.inputs, self.outputs = list(hls_model.inputs), list(hls_model.outputs)  # tensor names, in order
        softmaxes = [h for h in self.handlers if h.kind == "Softmax"]
        self.logits_name = softmaxes[-1].inputs[0] if softmaxes else self.outputs[0]

    def run(self, X) -> dict[str, Fx]:
        """Every tensor of the model (by variable name) for the inputs ``X`` (one array per model
        input, shaped (samples, ...))."""
        xs = [X] if len(self.inputs) == 1 else list(X)
        tensors: dict[str, Fx] = {}
        feeds = {name: np.asarray(x).reshape(len(x), -1) for name, x in zip(self.inputs, xs)}
        for h in self.handlers:
            if isinstance(h, InputHandler):
                out = h(feeds[h.outputs[0]])
            else:
                out = h(*(tensors[name] for name in h.inputs))
            for name, value in zip(h.outputs, out if isinstance(out, list) else [out]):
                tensors[name] = value
        return tensors

    def predict(self, X) -> np.ndarray | list[np.ndarray]:
        """What ``hls_model.predict(X)`` returns after ``compile()``: the outputs converted to the
        input's float type (float32 in, float32 out; otherwise float64), shaped (samples, size)."""
        dtype = np.float32 if np.asarray(X if len(self.inputs) == 1 else X[0]).dtype == np.float32 else np.float64
        tensors = self.run(X)
        outs = [to_float(tensors[name].codes, tensors[name].type, dtype) for name in self.outputs]
        return outs[0] if len(outs) == 1 else outs

    def logits(self, X) -> Fx:
        """The fixed-point tensor feeding the last softmax (the model output when there is none)."""
        return self.run(X)[self.logits_name]


def first_mismatch(emulated: Mapping[str, np.ndarray], simulated: Mapping[str, np.ndarray]) -> str | None:
    """The first difference between named arrays (samples first), in the order of ``emulated``;
    names missing from ``simulated`` are skipped. None when all agree exactly."""
    for name, e in emulated.items():
        if name not in simulated:
            continue
        e, s = np.asarray(e), np.asarray(simulated[name])
        e, s = e.reshape(len(e), -1), s.reshape(len(s), -1)
        if e.shape != s.shape:
            return f"{name}: emulated shape {e.shape}, C simulation {s.shape}"
        differ = e != s
        if differ.any():
            sample, element = (int(v[0]) for v in np.nonzero(differ))
            return (f"{name}: sample {sample}, element {element}: emulated {e[sample, element]!r}, "
                    f"C simulation {s[sample, element]!r} ({int(differ.sum())} of {differ.size} values differ)")
    return None


def compare(emulator: Emulator, X, simulated_output, traces: Mapping[str, np.ndarray] | None = None) -> str | None:
    """Compare the emulation of ``X`` with the C simulation's output (``hls_model.predict(X)``)
    and, where given, its per-layer traces (``hls_model.trace(X)[1]``): the predicted class of
    every sample, the fixed-point values of every traced layer (the logits before the softmax
    among them) and the final output. Returns the first difference, or None."""
    X64 = X if len(emulator.inputs) > 1 else np.asarray(X, dtype=np.float64)
    tensors = emulator.run(X64)
    emulated: dict[str, np.ndarray] = {}
    for h in emulator.handlers:
        if traces is not None and h.name in traces and h.outputs[0] in tensors:
            t = tensors[h.outputs[0]]
            emulated[h.name] = to_float(t.codes, t.type, np.float64)
    simulated = dict(traces or {})
    outputs = [simulated_output] if len(emulator.outputs) == 1 else list(simulated_output)
    for name, out in zip(emulator.outputs, outputs):
        out = np.asarray(out)
        t = tensors[name]
        emulated[f"output {name}"] = to_float(t.codes, t.type, out.dtype if out.dtype == np.float32 else np.float64)
        simulated[f"output {name}"] = out.reshape(len(out), -1)
        classes_e = emulated[f"output {name}"].reshape(len(out), -1).argmax(axis=1)
        classes_s = simulated[f"output {name}"].argmax(axis=1)
        if (classes_e != classes_s).any():
            i = int(np.nonzero(classes_e != classes_s)[0][0])
            first = first_mismatch(emulated, simulated)
            return (f"predicted class of sample {i} ({name}): emulated {classes_e[i]}, C simulation {classes_s[i]}"
                    + (f"; first difference: {first}" if first else ""))
    return first_mismatch(emulated, simulated)


def simulate(hls_model, X, trace: bool = True):
    """The C simulation of ``X`` (in float64, so that traces hold the fixed-point values exactly):
    (output, traces). With ``trace`` every layer is traced and the model is compiled with tracing
    (hls4ml's ``trace`` recompiles); without it the model must be compiled already."""
    X64 = [np.ascontiguousarray(x, np.float64) for x in X] if isinstance(X, (list, tuple)) else \
        np.ascontiguousarray(X, dtype=np.float64)
    with contextlib.redirect_stdout(io.StringIO()):
        if trace:
            for layer in hls_model.get_layers():
                layer.set_attr("trace", True)
            return hls_model.trace(X64)
        return hls_model.predict(X64), {}


def verify(emulator: Emulator, hls_model, X, trace: bool = True):
    """Run the C simulation and the emulator on ``X``; raise :class:`EmulationMismatch` naming the
    first differing layer and sample. Returns the C simulation's (output, traces)."""
    output, traces = simulate(hls_model, X, trace)
    problem = compare(emulator, X, output, traces)
    if problem:
        raise EmulationMismatch(f"{emulator.project}: {problem}")
    return output, traces


__all__ = ["EmulationMismatch", "EmulationUnsupported", "Emulator", "compare", "first_mismatch", "simulate", "verify"]
