"""synth: the hardware numbers of an hls design from a synthesis backend (``synth_estimate``,
``synth_yosys``, ``synth_vitis``, ...); the backends are in :mod:`hlsnake.synth`."""

from __future__ import annotations

from .base import SYNTH, Task, register

BACKEND = r"[a-z0-9]+"  # a backend's name (config synth.backend)
TASK = register(
    Task(
        name="synth",
        prefix="synth",
        pattern=rf"(?P<backend>{BACKEND})",
        format=lambda k: k["backend"],
        parse=lambda m: {"backend": m["backend"]},
        stage=SYNTH,  # its resources depend on the backend and synth.timeout: rules/common.smk
    )
)
