"""Failure records: a design that cannot be built is a result, not a crash.

A stage job that fails for a reason of the design — training diverged (NaN loss),
hls4ml could not compile the project, the synthesis tool failed or timed out — writes a
record with ``"status": "failed"`` and the reason into its JSON outputs (``metrics.json``
or ``resources.json``), leaves its other outputs empty, and exits normally. The job then
counts as done for Snakemake, the failure is cached like any result, and the stages
below it pass the failure on without work. So a search or a grid goes on past a
failing design (``--keep-going`` alone would not: the round's gather job would miss its
input) and scores it infeasible.

A failure of the code (a bug, a missing package) is not a design failure: it raises as
before. To retry a failed design (e.g. after installing a tool), rerun its stage with
``--forcerun <its metrics.json>``.
"""

from __future__ import annotations

import subprocess
import time
import traceback
from pathlib import Path

from .artifacts import LOG_FILE, failure_record, stage_failure, write_failure
from .joblog import announce, log


class DesignFailed(RuntimeError):
    """Raise this (e.g. in a synthesis backend) for a design that cannot be built."""


# exception types that are the design's fault, whatever raised them
DESIGN_FAILURES = (DesignFailed, FloatingPointError, subprocess.CalledProcessError, subprocess.TimeoutExpired, TimeoutError)


def is_design_failure(exc: BaseException) -> bool:
    if isinstance(exc, DESIGN_FAILURES):
        return True
    # hls4ml reports a failed g++ build (and configurations it cannot write) as a bare Exception
    return type(exc) is Exception and _raised_in(exc, "hls4ml")


def _raised_in(exc: BaseException, package: str) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and f"/{package}/" in frames[-1].filename.replace("\\", "/")


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
    except Exception as exc:
        if not is_design_failure(exc):
            raise
        reason = f"{type(exc).__name__}: {exc}".strip()
        stage_log = Path(outputs[0]).parent / LOG_FILE
        stage_log.parent.mkdir(parents=True, exist_ok=True)
        with open(stage_log, "a") as out:  # the whole story in the job's log, one line on the terminal
            traceback.print_exc(file=out)
        write_failure(outputs, failure_record(stage, stage, reason, time.time() - start))
        announce(f"{stage}: design failure recorded: {reason.splitlines()[0]} (details: {stage_log})")
        return None
