"""hls: the hls4ml conversion of the model, with its reuse factor (one, or one per weight
layer), strategy and io type; bit-accurate accuracy of the fixed-point design.

Fixed: ``hls_rf4_latency_parallel`` (per layer: ``hls_rf4-2-1_...``). Automatic:
``hls_rf1_latency_parallel_a0.0100`` also narrows the data types (input, float ReLU
outputs) within an absolute accuracy drop (:func:`hlsnake.hls.auto_precision`).
"""

from __future__ import annotations

from ..artifacts import SCRATCH_DIR
from .base import BITS, HLS, KnobKind, Resources, Task, bits_text, bits_value, register

IO_TYPES = {"io_parallel": "parallel", "io_stream": "stream"}  # hls4ml's name -> its short name in paths
_IO_BY_SHORT = {v: k for k, v in IO_TYPES.items()}
STRATEGIES = ("latency", "resource")
KNOBS = ("reuse_factor", "strategy", "io_type")
DEFAULT_EVALUATOR = "emulate"  # config hls.evaluate  # what its directory name holds; the hls section has the rest


def project_settings(hls: dict) -> dict:
    """The hls section as a job reads it: without the knobs its directory name holds, and
    without the evaluator when it is the emulator (both give the same numbers, bit for bit;
    results made before the key existed stay valid)."""
    return {k: v for k, v in hls.items() if k not in KNOBS and not (k == "evaluate" and v == DEFAULT_EVALUATOR)}


def _fixed(model, split, hls_cfg: dict, knobs: dict, out_dir, log):
    return None, None  # hls4ml's types: from QKeras quantizers, else the default precision


def _auto(model, split, hls_cfg: dict, knobs: dict, out_dir, log):
    from .. import hls  # hls4ml loads in the job, not where the Snakefile reads the registry

    return hls.auto_precision(model, split, hls_cfg, knobs, knobs["tolerance"], out_dir / SCRATCH_DIR, log=log)


def _format(k: dict) -> str:
    return f"rf{bits_text(k['reuse_factor'])}_{k['strategy'].lower()}_{IO_TYPES[k['io_type']]}"


def _parse(m) -> dict:
    return {"reuse_factor": bits_value(m["reuse_factor"]), "strategy": m["strategy"], "io_type": _IO_BY_SHORT[m["io"]]}


TASK = register(
    Task(
        name="hls",
        prefix="hls",
        pattern=rf"rf(?P<reuse_factor>{BITS})_(?P<strategy>{'|'.join(STRATEGIES)})_(?P<io>{'|'.join(IO_TYPES.values())})",
        format=_format,
        parse=_parse,
        stage=HLS,
        automatic=True,
        tolerance_suffix=True,
        run_fixed=_fixed,
        run_auto=_auto,
        sections=lambda config, auto: {"hls": project_settings(config["hls"])},
        resources=Resources(minutes=60, auto_minutes=600, cpus=1, auto_cpus=2),
        knobs=(KnobKind("reuse_factor", int), KnobKind("strategy", str), KnobKind("io_type", str)),
        from_point=lambda point: {k: point[k] for k in KNOBS if k in point},
    )
)
