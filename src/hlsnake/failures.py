"""Failure records: a design that cannot be built is a result, not a crash.

Only a design's own failure is recorded: a :class:`DesignFailed`, raised where the failure
is unambiguously the design's —

* training diverged, its loss became NaN (``training.TrainingDiverged``);
* hls4ml could not convert the design or write its project (``hls.ConversionFailed``), or
  g++ could not compile its generated C++ (``evaluation.CompileFailed``);
* its synthesis ran past ``synth.timeout`` (``synth.base.SynthesisTimeout``);
* a verdict on the design itself: hls4ml 1.3 or the RTL tracer cannot handle its layers, a
  width factor does not fit its graph, even its widest quantisation could not be built,
  every branch of its fork failed, its emulation or traced RTL disagrees with the C
  simulation or with QKeras.

A stage job that fails so writes a record with ``"status": "failed"`` and the reason into
its JSON outputs (``metrics.json`` or ``resources.json``), leaves its other outputs empty,
and exits normally. The job then counts as done for Snakemake, the failure is cached like
any result, and the stages below it pass the failure on without work. So a search or a
grid goes on past a failing design (``--keep-going`` alone would not: the round's gather
job would miss its input) and scores it infeasible.

Anything else fails the job as Snakemake does and leaves no record, whatever its type: a
bug of ours (also one that raises a CalledProcessError, a TimeoutError or a
FloatingPointError), a missing package or tool, a synthesis tool that exits with an error.
Its job runs again when the workflow is rerun. To retry a recorded failure (e.g. with a
longer ``synth.timeout``), rerun its stage with ``--forcerun <its metrics.json>``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

from .artifacts import LOG_FILE, failure_record, stage_failure, write_failure
from .joblog import announce, log


class DesignFailed(RuntimeError):
    """The design's own failure (see the module's docstring): raise it, or a subclass, only
    where the failure is unambiguously the design's."""


def is_design_failure(exc: BaseException) -> bool:
    return isinstance(exc, DesignFailed)


# errors of the machine, never of a design, wherever they come from: a missing package, memory, disk
ENVIRONMENT_ERRORS = (ImportError, MemoryError, OSError)


def raised_inside(exc: BaseException, package: str) -> bool:
    """Whether ``package`` (imported) raised ``exc`` at its work: the call got into it (a
    frame of its files in the traceback; a call with wrong arguments fails before that),
    and the error is not one of the environment."""
    module = sys.modules.get(package)
    if isinstance(exc, ENVIRONMENT_ERRORS) or not getattr(module, "__path__", None):
        return False
    root = os.path.join(module.__path__[0], "")
    return any(frame.f_code.co_filename.startswith(root) for frame, _ in traceback.walk_tb(exc.__traceback__))


@contextlib.contextmanager
def failures_inside(package: str, failure: type[DesignFailed], what: str, detail: Callable[[], str] = str):
    """Within: an error that ``package`` raises at its work on the design (e.g. hls4ml
    converting it) becomes ``failure``, its reason ``what: <the error>`` and ``detail()``
    (e.g. the compiler's first error line); others pass."""
    try:
        yield
    except DesignFailed:
        raise
    except Exception as exc:
        if not raised_inside(exc, package):
            raise
        raise failure(f"{what}: {type(exc).__name__}: {exc}{detail()}") from exc


def run_stage(snakemake, work, *args, **kwargs):
    """Run a design stage's ``work`` in a rule script; record a design failure instead of raising.

    A failed parent stage (found through the inputs' directories) is passed on without
    running ``work``.
    """
    outputs = list(snakemake.output)
    stage = Path(outputs[0]).parent.name
    for parent in dict.fromkeys(Path(p).parent for p in snakemake.input):
        upstream = stage_failure(parent)
        if upstream:
            write_failure(outputs, failure_record(stage, upstream["failed_stage"], upstream["reason"], 0.0))
            log(f"{stage}: not built, stage {upstream['failed_stage']} failed: {upstream['reason']}")
            return None
    return run_recorded(snakemake, work, *args, **kwargs)


def run_recorded(snakemake, work, *args, **kwargs):
    """Run ``work``; record a design failure instead of raising. For stages that read
    several designs and decide themselves what a failed one means (reduce skips it)."""
    outputs = list(snakemake.output)
    stage = Path(outputs[0]).parent.name
    start = time.time()
    try:
        return work(*args, **kwargs)
    except DesignFailed as exc:  # any other error fails the job, and nothing is written
        reason = f"{type(exc).__name__}: {exc}".strip()
        stage_log = Path(outputs[0]).parent / LOG_FILE
        stage_log.parent.mkdir(parents=True, exist_ok=True)
        with open(stage_log, "a") as out:  # the whole story in the job's log, one line on the terminal
            traceback.print_exc(file=out)
        write_failure(outputs, failure_record(stage, stage, reason, time.time() - start))
        announce(f"{stage}: design failure recorded: {reason.splitlines()[0]} (details: {stage_log})")
        return None
