"""Synthesis backends: each turns an hls4ml design into resources and latency.

A backend is registered in :data:`BACKENDS` under its config name (``synth.backend``).
``available()`` says whether it can run on this machine (its tool is installed);
``run(job)`` does the work and returns the resource record that is written to
``resources.json``. Every record names its ``source``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


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


def _run_estimate(job: SynthJob) -> dict:
    from ..stages import load_description
    from . import estimate

    description, weights = load_description(job.hls_dir)
    tool = job.hls.get("backend", "Vitis")  # the tool that would synthesise the project
    return estimate.estimate(description["layers"], weights, description["clock_period"], tool=tool, part=description.get("part"))


BACKENDS: dict[str, Backend] = {
    "estimate": Backend("estimate", _run_estimate, describe="hlsnake's estimator (instant, no tool)"),
}


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


# Backends in their own modules register themselves on import (they import their tools lazily).
from . import rtl, yosys  # noqa: E402,F401
from . import vendor  # noqa: E402,F401  (vitis, vivado; resolves auto)
