"""The registry of synthesis backends, and what every backend shares.

A backend is registered in :data:`BACKENDS` under its config name (``synth.backend``) by
its own module, as hls4ml's backends are; ``hlsnake.synth`` (the package) is the one place
that imports them all. ``available()`` says whether it can run on this machine (its tool
is installed); ``run(job)`` does the work and returns the resource record that is written
to ``resources.json``. Every record names its ``source``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..failures import DesignFailed


@dataclass(frozen=True)
class SynthJob:
    """Everything a backend may need about one design."""

    hls_dir: Path  # the hls stage: layers.json, weights.npz, prj/ (the hls4ml project)
    model_dir: Path  # the model stage the hls step converted: model.h5
    data_path: Path  # the data split (for bit-exactness checks)
    out_dir: Path  # where resources.json goes; scratch files may go here too
    hls: dict  # the hls section of the config
    synth: dict  # the synth section of the config


@dataclass(frozen=True)
class Backend:
    name: str
    run: Callable[[SynthJob], dict]
    tools: tuple[str, ...] = ()  # executables that provide it (any one of them)
    describe: str = ""
    extra_check: Callable[[], str | None] | None = field(default=None)

    def missing(self) -> str | None:
        """Why the backend cannot run here, or None."""
        if self.tools and not any(shutil.which(tool) for tool in self.tools):
            return f"needs {' or '.join(self.tools)} on PATH, and it is not installed here"
        return self.extra_check() if self.extra_check else None


class BackendUnavailable(RuntimeError):
    pass


BACKENDS: dict[str, Backend] = {}


def register(backend: Backend) -> None:
    BACKENDS[backend.name] = backend


def require_backend(name: str) -> None:
    """Raise with the missing tool and the config key to change when ``name`` cannot run here."""
    if name not in BACKENDS:
        raise BackendUnavailable(
            f"unknown synthesis backend {name!r} (config key synth.backend); known: {', '.join(BACKENDS)}"
        )
    reason = BACKENDS[name].missing()
    if reason:
        raise BackendUnavailable(
            f"synthesis backend {name!r} {reason}; set synth.backend: estimate (or install the tool)"
        )


def run(name: str, job: SynthJob) -> dict:
    require_backend(name)
    return BACKENDS[name].run(job)


# -- running a tool ----------------------------------------------------------------------


class ToolFailed(RuntimeError):
    """A tool exited with an error: missing licence, crash or the design, it cannot tell."""


class ToolTimeout(TimeoutError):
    pass


class SynthesisTimeout(DesignFailed):
    """The synthesis of the design ran past ``synth.timeout``: the design's own failure."""


def run_tool(cmd: list[str], cwd: Path, timeout: float, what: str) -> str:
    """Run an external tool; on a timeout kill it with its children (Yosys starts ABC) and
    say so. Returns its output; raises with the output's tail when it fails."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:  # it ended meanwhile
            pass
        proc.communicate()
        raise ToolTimeout(f"{what} timed out after {timeout:g} s (config key synth.timeout) in {cwd}") from None
    if proc.returncode != 0:
        raise ToolFailed(f"{what} failed (exit code {proc.returncode}) in {cwd}:\n{output[-3000:]}")
    return output


def run_synthesis(cmd: list[str], cwd: Path, timeout: float, what: str) -> str:
    """:func:`run_tool` for a tool that synthesises the design: its timeout is the design's
    failure (:class:`SynthesisTimeout`); the tool failing is not (:class:`ToolFailed`)."""
    try:
        return run_tool(cmd, cwd, timeout, what)
    except ToolTimeout as exc:
        raise SynthesisTimeout(str(exc)) from exc
