"""The files a stage leaves in its directory: their names, and the one reader and writer
of each kind (metrics, the hardware description, resources, failure records).

Model stages write ``model.h5`` and ``metrics.json``; the hls stage writes the hls4ml
project (``prj/``), ``metrics.json`` and the hardware description (``layers.json``,
``weights.npz``); a synthesis stage writes ``resources.json``; an automatic task adds
``candidates.csv``. A stage that failed for a reason of its design keeps a failure
record (``"status": "failed"``) in its JSON output instead (see :mod:`hlsnake.failures`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .fileio import atomic_path, read_json, write_json

MODEL_FILE = "model.h5"
METRICS_FILE = "metrics.json"
LAYERS_FILE = "layers.json"
WEIGHTS_FILE = "weights.npz"
RESOURCES_FILE = "resources.json"
CANDIDATES_FILE = "candidates.csv"
PROJECT_DIR = "prj"  # the hls4ml project of an hls stage
SCRATCH_DIR = "candidates"  # the hls4ml projects of an automatic step's candidates, removed at its end
CSIM_CHECK_FILE = "csim_check.json"  # the C simulation of a design that reached a front
CSIM_SCRATCH_DIR = "csim_check_prj"  # its compiled project, removed at its end
FRONT_FILE = "front.json"  # the designs of a summary or study that the C simulation checks
REDUCE_TABLE = "reduce.csv"
BRANCH_FINAL_FILE = "final.json"
LOG_FILE = "job.log"  # a stage job's own output (TensorFlow, hls4ml, tools)
RECORD_FILES = (METRICS_FILE, RESOURCES_FILE)  # where a stage keeps its record (or its failure)


def read_metrics(stage_dir) -> dict:
    return read_json(Path(stage_dir) / METRICS_FILE)


def write_metrics(stage_dir, metrics: dict) -> None:
    write_json(Path(stage_dir) / METRICS_FILE, metrics)


def read_resources(design_dir) -> dict:
    return read_json(Path(design_dir) / RESOURCES_FILE)


def write_description(hls_dir, description: dict, weights: dict[str, np.ndarray]) -> None:
    """The hardware description of an hls design: layers (kinds, shapes, types) and weights."""
    hls_dir = Path(hls_dir)
    write_json(hls_dir / LAYERS_FILE, description)
    with atomic_path(hls_dir / WEIGHTS_FILE, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **weights)


def load_description(hls_dir) -> tuple[dict, dict[str, np.ndarray]]:
    hls_dir = Path(hls_dir)
    description = read_json(hls_dir / LAYERS_FILE)
    with np.load(hls_dir / WEIGHTS_FILE) as f:
        weights = {k: f[k] for k in f.files}
    return description, weights


def stage_records(stage_dir):
    """The JSON records a stage directory holds (metrics or resources), skipping empty files."""
    for name in RECORD_FILES:
        path = Path(stage_dir) / name
        if path.is_file() and path.stat().st_size:
            yield read_json(path)


def stage_seconds(stage_dir) -> float:
    """The compute time a stage recorded (0 where it recorded none)."""
    return sum(float(record.get("seconds") or 0.0) for record in stage_records(stage_dir))


# -- failure records -----------------------------------------------------------------


def failure_record(stage: str, failed_stage: str, reason: str, seconds: float) -> dict:
    return {"status": "failed", "stage": stage, "failed_stage": failed_stage, "reason": reason, "seconds": seconds}


def stage_failure(stage_dir) -> dict | None:
    """The failure record of a stage directory, or None when it did not fail."""
    for record in stage_records(stage_dir):
        if isinstance(record, dict) and record.get("status") == "failed":
            return record
    return None


def write_failure(outputs, record: dict) -> None:
    """The record into every JSON output; empty placeholders for the others."""
    for out in map(Path, outputs):
        if out.suffix == ".json":
            write_json(out, record)
        elif out.suffix:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(b"")  # an empty model.h5 or weights.npz: unusable by design
        else:
            out.mkdir(parents=True, exist_ok=True)  # a directory output (e.g. the hls4ml project)
