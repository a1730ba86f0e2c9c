"""The bit-accurate outputs of an hls4ml design, and who computed them.

Two evaluators give the same numbers, bit for bit:

* ``emulator``: :mod:`hlsnake.emulator` runs the fixed-point arithmetic that the hls4ml
  model specifies in NumPy (milliseconds, nothing to compile);
* ``csim``: hls4ml's C simulation, the project compiled with g++ (seconds to a minute).

``hls.evaluate: emulate`` (the default) uses the emulator where it covers the design and
the C simulation where it does not (the reason is recorded); the C simulation then checks
the designs that reach a Pareto front (:func:`check_against_csim`). ``hls.evaluate: csim``
compiles every design, and checks the emulator against it. A disagreement fails the
design, with the first differing value in its reason: it is never averaged away.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .emulator import EmulationUnsupported, Emulator, compare
from .failures import DesignFailed, failures_inside

EMULATOR, CSIM = "emulator", "csim"
METHODS = {"emulate": EMULATOR, "csim": CSIM}  # config hls.evaluate -> the evaluator it asks for
SOURCES = {  # what an accuracy column says it came from
    EMULATOR: "bit-exact emulation of the hls4ml C simulation",
    CSIM: "hls4ml C simulation (g++)",
}


class EvaluationMismatch(DesignFailed):
    """The emulator and the C simulation disagree on a design."""


class CompileFailed(DesignFailed):
    """hls4ml could not build the design's C simulation: g++ failed on its generated C++."""


@dataclass
class BitAccurate:
    """How a design's outputs are computed: ``predict(X)`` and the evaluator's name."""

    predict: Callable[[np.ndarray], np.ndarray]
    evaluator: str
    note: str = ""  # why the C simulation ran where the emulator was asked for
    seconds: dict = field(default_factory=dict)  # compile, emulator set-up


def compile_csim(hls_model) -> float:
    """Write and compile the C++ model with g++; returns the seconds it took. An error raised
    inside hls4ml (its g++ build failed) fails the design (:class:`CompileFailed`)."""
    if shutil.which("g++") is None:  # hls4ml's build_lib.sh runs g++: without it no design builds, none is to blame
        raise RuntimeError("the C simulation needs g++ on PATH (hls4ml's build_lib.sh runs it)")
    start = time.time()
    printed = io.StringIO()

    def compiler_error() -> str:
        output = printed.getvalue()
        print(output[-5000:], flush=True)  # g++'s output, into the job's log
        error = next((line.strip() for line in output.splitlines() if "error:" in line), "")
        return f" ({error})" if error else ""

    # the redirection ends before compiler_error prints (the inner context exits first)
    with failures_inside("hls4ml", CompileFailed, "hls4ml could not compile the design's C++", compiler_error):
        with contextlib.redirect_stdout(printed):  # hls4ml prints every file it writes, and g++'s errors
            hls_model.compile()
    return time.time() - start


def csim_predict(hls_model, X: np.ndarray) -> np.ndarray:
    """The C simulation's outputs (the model is compiled), as (samples, values)."""
    with contextlib.redirect_stdout(io.StringIO()):
        out = hls_model.predict(np.ascontiguousarray(X, dtype=np.float32))
    return np.asarray(out).reshape(len(X), -1)


def bit_accurate(hls_model, method: str = "emulate") -> BitAccurate:
    """The evaluator of ``hls_model`` that ``method`` (config ``hls.evaluate``) asks for."""
    if METHODS[method] == EMULATOR:
        start = time.time()
        try:
            emulator = Emulator(hls_model)
        except EmulationUnsupported as err:
            note = f"the emulator does not cover this design ({err}); the C simulation ran"
        else:
            predict = lambda X: np.asarray(emulator.predict(np.asarray(X, dtype=np.float32))).reshape(len(X), -1)  # noqa: E731
            return BitAccurate(predict, EMULATOR, seconds={"emulator_setup": time.time() - start})
    else:
        note = ""
    seconds = {"compile": compile_csim(hls_model)}
    return BitAccurate(lambda X: csim_predict(hls_model, X), CSIM, note, seconds)


def check_against_csim(hls_model, samples: list[np.ndarray], compiled: bool = False) -> tuple[dict, list[np.ndarray]]:
    """Compile ``hls_model`` (unless ``compiled``) and compare the emulator with the C
    simulation on every array of ``samples``: the predicted class of every sample and every
    output value. Raises :class:`EvaluationMismatch` with the first difference. Returns what
    was checked (a design the emulator does not cover has nothing to check) and the C
    simulation's outputs."""
    try:
        emulator = Emulator(hls_model)
    except EmulationUnsupported as err:
        return {"checked": False, "reason": f"the emulator does not cover this design ({err})"}, []
    start = time.time()
    compile_seconds = 0.0 if compiled else compile_csim(hls_model)
    outputs = []
    for X in samples:
        X64 = np.ascontiguousarray(X, dtype=np.float64)
        with contextlib.redirect_stdout(io.StringIO()):
            simulated = hls_model.predict(X64)
        problem = compare(emulator, X64, simulated)
        if problem:
            raise EvaluationMismatch(f"the C simulation and the emulator disagree: {problem}")
        outputs.append(np.asarray(simulated).reshape(len(X), -1))
    n = sum(len(X) for X in samples)
    return {"checked": True, "samples": n, "compile_seconds": compile_seconds, "seconds": time.time() - start}, outputs


__all__ = [
    "CSIM", "EMULATOR", "METHODS", "SOURCES", "BitAccurate", "CompileFailed", "EvaluationMismatch", "bit_accurate",
    "check_against_csim", "compile_csim", "csim_predict",
]  # fmt: skip
