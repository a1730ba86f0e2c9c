"""Synthesis backends: each turns an hls4ml design into resources and latency.

``estimate`` needs no tool. The vendor backends need their HLS tool on PATH; the
config check stops a run before any work when the tool is missing.
"""

from __future__ import annotations

import shutil

# backend -> executables that provide it (any one of them)
TOOLS = {
    "vitis": ("vitis_hls", "vitis-run"),
    "vivado": ("vivado_hls",),
}
BACKENDS = ("estimate", "vitis", "vivado")


class BackendUnavailable(RuntimeError):
    pass


def require_backend(backend: str) -> None:
    """Raise with the missing tool and the config key to change when ``backend`` cannot run here."""
    if backend not in BACKENDS:
        raise BackendUnavailable(f"unknown synthesis backend {backend!r} (config key synth.backend); known: {', '.join(BACKENDS)}")
    tools = TOOLS.get(backend, ())
    if tools and not any(shutil.which(tool) for tool in tools):
        raise BackendUnavailable(
            f"synthesis backend {backend!r} needs {' or '.join(tools)} on PATH, and it is not installed here; "
            "set synth.backend: estimate (or install and source the vendor tool)"
        )
