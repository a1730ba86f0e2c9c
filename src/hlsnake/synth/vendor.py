"""Vendor HLS backends: C synthesis of the hls4ml project with Vitis HLS or Vivado HLS.

``synth.backend: vitis`` or ``vivado`` runs the C synthesis of the project the hls stage
wrote (``<hls stage>/prj``), the way hls4ml 1.3's own ``build()`` does with
``csim=0 synth=1`` (and nothing else), within ``synth.timeout`` seconds, and reads the
reports with :mod:`hlsnake.synth.hls_reports`. The tool runs in a copy of the project in
the synth stage's own directory (``<synth stage>/prj``): the hls stage's output is never
written to. A synthesis that runs past the timeout is a design failure
(:mod:`hlsnake.failures`); a tool that fails or leaves no report fails the job (it cannot
tell the design from its licence or installation). ``synth.backend: auto`` is resolved once,
when the config is validated (:func:`resolve`), so a design's path names the backend
that really ran.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ..artifacts import PROJECT_DIR
from . import hls_reports
from .base import BACKENDS, Backend, BackendUnavailable, SynthJob, register, run_synthesis

# executables that run each backend, preferred first (hls4ml 1.3 runs Vitis through vitis-run;
# Vitis HLS releases before 2024.2 have only vitis_hls, which runs the same Tcl script)
EXECUTABLES = {"vitis": ("vitis-run", "vitis_hls"), "vivado": ("vivado_hls",)}
# the hls4ml backend (config key hls.backend) whose projects each tool synthesises
HLS_BACKENDS = {"vitis": "Vitis", "vivado": "Vivado"}
# hls4ml's build options: C synthesis only
BUILD_OPTIONS = {"reset": 1, "csim": 0, "synth": 1, "cosim": 0, "validation": 0, "export": 0, "vsynth": 0, "fifo_opt": 0}
OPEN_BACKEND = "yosys"  # the open-source path, used by 'auto' when no vendor tool is installed


class SynthesisFailed(RuntimeError):
    """The project or the tool's reports are not as they should be: not the design's failure."""


def _project_setting(prj: Path, name: str) -> str | None:
    """``set <name> "<value>"`` in the project.tcl hls4ml writes."""
    match = re.search(rf'^set {name} "([^"]*)"', (prj / "project.tcl").read_text(), re.M)
    return match[1] if match else None


def build_command(backend: str, prj: Path) -> list[str]:
    """The command hls4ml 1.3's ``build(reset=True, csim=False, synth=True)`` runs."""
    if backend == "vivado":
        return ["vivado_hls", "-f", "build_prj.tcl", " ".join(f"{k}={v}" for k, v in BUILD_OPTIONS.items())]
    # Vitis: build_prj.tcl sources build_opt.tcl, which hls4ml writes before each build
    options = "".join(f"    {k:<10} {v}\n" for k, v in BUILD_OPTIONS.items())
    (prj / "build_opt.tcl").write_text(f"array set opt {{\n{options}}}\n")
    if shutil.which("vitis-run"):
        return ["vitis-run", "--tcl", "build_prj.tcl", "--mode", "hls"]
    return ["vitis_hls", "-f", "build_prj.tcl"]


def to_resources(record: dict) -> dict:
    """A report record in the format of the estimator's output (``resources.json``)."""
    out = {
        "source": record["tool"],
        "tool_version": record["tool_version"],
        **{key: record[key] for key in hls_reports.RESOURCES},
        "latency_cycles": record["latency_worst"],
        "latency_ns": record["latency_worst_ns"],
        "interval": record["interval_max"],
        "clock_ns": record["clock_target_ns"],
        "clock_estimated_ns": record["clock_estimated_ns"],
        "latency_best_cycles": record["latency_best"],
        "latency_worst_cycles": record["latency_worst"],
        "latency_best_ns": record["latency_best_ns"],
        "latency_worst_ns": record["latency_worst_ns"],
        "interval_min": record["interval_min"],
        "interval_max": record["interval_max"],
        "part": record["part"],
        "report": record["report"],
    }
    if "vivado_synth" in record:
        out["vivado_synth"] = record["vivado_synth"]
    return out


def run(job: SynthJob, backend: str) -> dict:
    source = Path(job.hls_dir) / PROJECT_DIR
    if not (source / "build_prj.tcl").is_file() or not (source / "project.tcl").is_file():
        raise SynthesisFailed(f"{source} holds no hls4ml project (build_prj.tcl, project.tcl): rerun the hls stage")
    written_for = _project_setting(source, "backend")
    if written_for != backend:
        raise SynthesisFailed(
            f"synth.backend: {backend} cannot build {source}: it was written for the hls4ml {written_for!r} backend "
            f"(set hls.backend: {HLS_BACKENDS[backend]})"
        )
    if job.synth.get("timeout") is None:  # a bug of the caller, not of the design
        raise ValueError("synth.timeout is not set (a validated config has its default)")
    timeout = float(job.synth["timeout"])
    out_dir = Path(job.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # the hls stage's project is another rule's output: synthesise a fresh copy of it here
    prj = out_dir / "prj"
    shutil.rmtree(prj, ignore_errors=True)
    shutil.copytree(source, prj, ignore=shutil.ignore_patterns("*.so"))  # not the g++ emulation library
    command = build_command(backend, prj)
    tool = command[0]
    output = run_synthesis(command, prj, timeout, f"{tool} C synthesis")
    (out_dir / f"{tool}.log").write_text(output)
    try:
        record = hls_reports.read_project(prj, top=_project_setting(prj, "project_name") or "myproject")
    except hls_reports.ReportError as err:
        raise SynthesisFailed(f"{tool} finished but left no report ({err}); its log: {out_dir / f'{tool}.log'}") from None
    return to_resources(record)


def resolve(requested: str, hls_backend: str) -> str:
    """The backend that runs for ``synth.backend: requested``: ``auto`` becomes the vendor
    tool of ``hls.backend`` if installed, else the open path (``yosys``) if registered and
    installed, else ``estimate``. An explicit vendor backend must match ``hls.backend``."""
    vendor = next((name for name, hls in HLS_BACKENDS.items() if hls == hls_backend), None)
    if requested == "auto":
        for name in (vendor, OPEN_BACKEND):
            if name in BACKENDS and BACKENDS[name].missing() is None:
                return name
        return "estimate"
    if requested in HLS_BACKENDS and requested != vendor:
        raise BackendUnavailable(
            f"synth.backend: {requested} synthesises hls4ml {HLS_BACKENDS[requested]} projects, "
            f"but hls.backend is {hls_backend} (set both to the same tool)"
        )
    return requested


for _name, _tools in EXECUTABLES.items():
    register(
        Backend(
            _name,
            lambda job, _name=_name: run(job, _name),
            tools=_tools,
            describe=f"{HLS_BACKENDS[_name]} HLS C synthesis of the hls4ml project (minutes to hours)",
        )
    )
