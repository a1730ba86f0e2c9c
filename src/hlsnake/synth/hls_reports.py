"""Read the C-synthesis reports of Vivado HLS and Vitis HLS (and Vivado's utilisation report).

One record per project, whichever tool and version wrote it:

* ``<top>_csynth.xml`` is preferred. Its resource tags differ between tools (``DSP48E``
  in Vivado HLS, ``DSP`` in Vitis HLS); the tool is named only by the ``.rpt`` header,
  so the XML is recognised by its ``FlowTarget`` (Vitis HLS writes one) and its DSP tag.
* ``<top>_csynth.rpt`` alone (some projects keep only the text report): the same fields
  from its timing, latency and utilisation tables.
* ``vivado_synth.rpt`` (hls4ml's ``vsynth=1``: Vivado logic synthesis): the post-synthesis
  LUT, FF, DSP, BRAM (in 36 Kb tiles) and URAM, in ``record["vivado_synth"]``.

The same fields hls4ml's ``parse_vivado_report`` reads, without its need for
``project.tcl``: a project is found by its report files alone.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

RESOURCES = ("LUT", "FF", "DSP", "BRAM_18K", "URAM")
_TIME_UNITS = {"ps": 1e-3, "ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


class ReportError(ValueError):
    """A report is missing or cannot be read; the message names the file."""


def _number(text: str | None, path: Path, what: str) -> float | None:
    """A number from a report cell; None where the tool printed '?', '-' or 'undef'."""
    text = (text or "").strip()
    if text in ("", "?", "-", "undef", "N/A"):
        return None
    try:
        return float(text)
    except ValueError:
        raise ReportError(f"{path}: {what} is {text!r}, not a number") from None


def _int(text, path, what) -> int | None:
    value = _number(text, path, what)
    return None if value is None else int(value)


def _time_ns(text: str | None) -> float | None:
    """'96.570 ns', '0.100 us', '0.480 ms' -> nanoseconds."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*(ps|ns|us|ms|s)\s*", text or "")
    return float(match[1]) * _TIME_UNITS[match[2]] if match else None


def _tool(vitis: bool) -> str:
    return "vitis_hls" if vitis else "vivado_hls"


def parse_csynth_xml(path) -> dict:
    """The top-level ``*_csynth.xml`` of Vivado HLS or Vitis HLS."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as err:
        raise ReportError(f"{path}: not a readable C-synthesis XML report ({err})") from None

    def text(xpath: str) -> str | None:
        node = root.find(xpath)
        return None if node is None else node.text

    resources = root.find("./AreaEstimates/Resources")
    if resources is None or root.find("./PerformanceEstimates") is None:
        raise ReportError(f"{path}: no AreaEstimates/PerformanceEstimates: not a C-synthesis report")
    area = {("DSP" if child.tag.startswith("DSP") else child.tag): child.text for child in resources}
    version = (text("./ReportVersion/Version") or "").strip()
    latency = "./PerformanceEstimates/SummaryOfOverallLatency/"
    return {
        "tool": _tool(root.find("./UserAssignments/FlowTarget") is not None or resources.find("DSP") is not None),
        "tool_version": version,
        "part": (text("./UserAssignments/Part") or "").strip(),
        "top": (text("./UserAssignments/TopModelName") or "").strip(),
        "clock_target_ns": _number(text("./UserAssignments/TargetClockPeriod"), path, "TargetClockPeriod"),
        "clock_uncertainty_ns": _number(text("./UserAssignments/ClockUncertainty"), path, "ClockUncertainty"),
        "clock_estimated_ns": _number(
            text("./PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod"), path, "EstimatedClockPeriod"
        ),
        "latency_best": _int(text(latency + "Best-caseLatency"), path, "Best-caseLatency"),
        "latency_worst": _int(text(latency + "Worst-caseLatency"), path, "Worst-caseLatency"),
        "latency_best_ns": _time_ns(text(latency + "Best-caseRealTimeLatency")),
        "latency_worst_ns": _time_ns(text(latency + "Worst-caseRealTimeLatency")),
        "interval_min": _int(text(latency + "Interval-min"), path, "Interval-min"),
        "interval_max": _int(text(latency + "Interval-max"), path, "Interval-max"),
        **{key: _int(area.get(key), path, key) or 0 for key in RESOURCES},
        "report": str(path),
    }


def _table_row(lines: list[str], start: int, path: Path, what: str) -> list[str]:
    """Cells of the first data row (``|  29|  29| ...``) of the table after line ``start``."""
    for line in lines[start:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.strip().startswith("|") and cells and re.fullmatch(r"[0-9?]+|ap_clk", cells[0]):
            return cells
    raise ReportError(f"{path}: no {what} table")


def parse_csynth_rpt(path) -> dict:
    """The top-level ``*_csynth.rpt`` (text) of Vivado HLS or Vitis HLS."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as err:
        raise ReportError(f"{path}: cannot read ({err})") from None
    header = re.search(r"== (Vivado|Vitis) HLS Report for '([^']+)'", text)
    if not header:
        raise ReportError(f"{path}: no 'Vivado HLS Report' / 'Vitis HLS Report' header: not a C-synthesis report")
    lines = text.splitlines()

    def field(name: str) -> str:
        match = re.search(rf"^\* {name}:\s*(.+?)\s*$", text, re.M)
        return match[1] if match else ""

    def index(pattern: str, what: str) -> int:
        for i, line in enumerate(lines):
            if re.match(pattern, line):
                return i
        raise ReportError(f"{path}: no {what} section")

    clock = _table_row(lines, index(r"\+ Timing", "timing"), path, "timing")
    latency = _table_row(lines, index(r"\+ Latency", "latency"), path, "latency")
    # utilisation summary: the header row names the columns (DSP48E or DSP), 'Total' has the numbers
    util = index(r"== Utilization Estimates", "utilisation")
    names = total = None
    for line in lines[util:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "Name" and names is None:
            names = ["DSP" if c.startswith("DSP") else c for c in cells]
        elif cells[0] == "Total" and names:
            total = dict(zip(names, cells))
            break
    if total is None:
        raise ReportError(f"{path}: no 'Total' row in the utilisation summary")
    number = r"([0-9.]+)\s*(?:ns)?"  # Vivado HLS 2019.1 prints bare numbers under 'Timing (ns)'
    if len(latency) < 7:  # 2019.1: no absolute-latency columns
        latency = latency[:2] + ["", ""] + latency[2:]
    return {
        "tool": _tool(header[1] == "Vitis"),
        "tool_version": field("Version").split()[0] if field("Version") else "",
        "part": field("Target device"),
        "top": header[2],
        "clock_target_ns": float(re.match(number, clock[1])[1]),
        "clock_uncertainty_ns": float(re.match(number, clock[3])[1]),
        "clock_estimated_ns": float(re.match(number, clock[2])[1]),
        "latency_best": _int(latency[0], path, "latency min"),
        "latency_worst": _int(latency[1], path, "latency max"),
        "latency_best_ns": _time_ns(latency[2]),
        "latency_worst_ns": _time_ns(latency[3]),
        "interval_min": _int(latency[4], path, "interval min"),
        "interval_max": _int(latency[5], path, "interval max"),
        **{key: _int(total.get(key), path, key) or 0 for key in RESOURCES},
        "report": str(path),
    }


# -- per-instance tables (the first level below the top function) --------------------------


def _tables_after(lines: list[str], start: int, stop_pattern: str) -> list[list[list[str]]]:
    """The ASCII tables (rows of cells) between line ``start`` and the first line matching
    ``stop_pattern``; a table is its ``|...|`` rows between ``+---+`` borders."""
    tables, rows = [], None
    for line in lines[start:]:
        stripped = line.strip()
        if re.match(stop_pattern, stripped):
            break
        if stripped.startswith("+-"):
            if rows is None:
                rows = []
            continue
        if stripped.startswith("|") and rows is not None:
            rows.append([c.strip() for c in stripped.strip("|").split("|")])
        elif rows:
            tables.append(rows)
            rows = None
        else:
            rows = None
    if rows:
        tables.append(rows)
    return tables


def _section_table(lines: list[str], after: str, title: str, stop: str) -> list[list[str]]:
    """Rows of the table titled ``* <title>:`` that follows the first line matching ``after``."""
    begin = next((i for i, line in enumerate(lines) if re.match(after, line)), None)
    if begin is None:
        return []
    found = (i for i in range(begin + 1, len(lines)) if lines[i].strip() == f"* {title}:" or re.match(stop, lines[i].strip()))
    head = next(found, None)
    if head is None or re.match(stop, lines[head].strip()):
        return []
    tables = _tables_after(lines, head + 1, r"\* \w+:|==|" + stop)
    return tables[0] if tables else []


def parse_instances(path) -> list[dict]:
    """The top function's instances (sub-modules) from its text report, one dict each:
    ``instance``, ``module``, ``latency_min``, ``latency_max``, ``interval_min``,
    ``interval_max``, ``pipeline`` and the resources (``LUT``, ``FF``, ``DSP``, ``BRAM_18K``,
    ``URAM``). The numbers are the tool's, per instance (an instance of a module that is
    called twice appears twice)."""
    path = Path(path)
    lines = path.read_text(errors="replace").splitlines()
    timing = _section_table(lines, r"\+ Latency", "Instance", r"== Utilization")
    area = _section_table(lines, r"== Utilization Estimates", "Instance", r"== ")
    instances: dict[str, dict] = {}
    for cells in timing:
        if len(cells) < 7 or cells[0] in ("", "Instance") or not re.fullmatch(r"[0-9?]+", cells[2]):
            continue
        lat, ii = (cells[2:4], cells[6:8]) if len(cells) >= 9 else (cells[2:4], cells[4:6])
        instances[cells[0]] = {
            "instance": cells[0], "module": cells[1],
            "latency_min": _int(lat[0], path, "instance latency"), "latency_max": _int(lat[1], path, "instance latency"),
            "interval_min": _int(ii[0], path, "instance interval"), "interval_max": _int(ii[1], path, "instance interval"),
            "pipeline": cells[-1],
        }  # fmt: skip
    header = None
    for cells in area:
        if cells[0] == "Instance":
            header = ["DSP" if c.startswith("DSP") else c for c in cells]
            continue
        if header is None or cells[0] in ("", "Total"):
            continue
        entry = instances.setdefault(cells[0], {"instance": cells[0], "module": cells[1]})
        for key, value in zip(header[2:], cells[2:]):
            if key in RESOURCES:
                entry[key] = _int(value, path, f"instance {key}") or 0
    return list(instances.values())


def parse_breakdown(path) -> dict[str, dict]:
    """The top function's utilisation summary by category (``Instance``, ``Register``,
    ``FIFO``, ``Multiplexer``, ``Expression``, ``Memory``, ``DSP``): resource -> count."""
    path = Path(path)
    lines = path.read_text(errors="replace").splitlines()
    util = next((i for i, line in enumerate(lines) if re.match(r"== Utilization Estimates", line)), None)
    if util is None:
        raise ReportError(f"{path}: no utilisation section")
    tables = _tables_after(lines, util, r"\+ Detail")
    out, names = {}, None
    for cells in tables[0] if tables else []:
        if cells[0] == "Name":
            names = ["DSP" if c.startswith("DSP") else c for c in cells]
        elif names and cells[0] in ("DSP", "Expression", "FIFO", "Instance", "Memory", "Multiplexer", "Register"):
            out[cells[0]] = {k: _int(v, path, f"{cells[0]} {k}") or 0 for k, v in zip(names[1:], cells[1:]) if k in RESOURCES}
    return out


# Vivado's utilisation report: LUTs and registers are 'CLB ...' (UltraScale) or 'Slice ...'
# (7-series); the first number after the name is 'Used'.
_VIVADO_ROWS = {
    "LUT": r"(?:CLB|Slice) LUTs\*?",
    "FF": r"(?:CLB|Slice) Registers",
    "BRAM_tiles": r"Block RAM Tile",
    "URAM": r"URAM",
    "DSP": r"DSPs",
}


def parse_vivado_synth(path) -> dict:
    """``vivado_synth.rpt`` (``report_utilization`` after logic synthesis)."""
    path = Path(path)
    text = path.read_text(errors="replace")
    version = re.search(r"^\| Tool Version\s*:\s*(.+?)\s*$", text, re.M)
    if not version:
        raise ReportError(f"{path}: no 'Tool Version' line: not a Vivado utilisation report")
    record: dict = {"tool": version[1], "report": str(path)}
    for key, name in _VIVADO_ROWS.items():
        # the first table row wins: later sections (per-SLR tables) repeat the names
        match = re.search(rf"^\|\s*{name}\s*\|\s*([0-9.]+)\s*\|", text, re.M)
        if match:
            value = float(match[1])
            record[key] = value if key == "BRAM_tiles" else int(value)
    missing = [key for key in ("LUT", "FF", "DSP") if key not in record]
    if missing:
        raise ReportError(f"{path}: no {', '.join(missing)} row in the utilisation tables")
    record.setdefault("URAM", 0)
    record.setdefault("BRAM_tiles", 0.0)
    return record


def find_report(project_dir, top: str = "myproject") -> Path:
    """The C-synthesis report of ``top`` in an hls4ml project: XML preferred, else the text report."""
    project_dir = Path(project_dir)
    for name in (f"{top}_csynth.xml", f"{top}_csynth.rpt"):
        found = sorted(project_dir.rglob(name))
        if found:
            return found[0]
    raise ReportError(
        f"no C-synthesis report ({top}_csynth.xml or {top}_csynth.rpt) under {project_dir}: did C synthesis run?"
    )


def read_project(project_dir, top: str = "myproject") -> dict:
    """One record for an hls4ml project: the C-synthesis report of ``top``, plus Vivado's
    post-synthesis utilisation in ``vivado_synth`` where ``vivado_synth.rpt`` exists."""
    project_dir = Path(project_dir)
    report = find_report(project_dir, top)
    record = parse_csynth_xml(report) if report.suffix == ".xml" else parse_csynth_rpt(report)
    vsynth = project_dir / "vivado_synth.rpt"
    if vsynth.is_file():
        record["vivado_synth"] = parse_vivado_synth(vsynth)
    return record
