"""Synthesis backends: each turns an hls4ml design into resources and latency.

The registry and the shared pieces are in :mod:`.base`; each backend's module registers
it. This package is the one place that imports them all (they import their tools lazily).
"""

from __future__ import annotations

from . import estimate, rtl, vendor, yosys  # noqa: F401  (each registers its backends)
from .base import BACKENDS, Backend, BackendUnavailable, SynthJob, register, require_backend, run

__all__ = ["BACKENDS", "Backend", "BackendUnavailable", "SynthJob", "register", "require_backend", "run"]
