"""One function per workflow stage: read the parent stage's files, do the work with the
real library, write this stage's files atomically. The Snakemake rule scripts only
unpack their ``snakemake`` object and call these; tests call them directly.

Model stages write ``model.h5`` and ``metrics.json``; the hls stage writes the hls4ml
project, ``metrics.json`` and the hardware description (``layers.json``, ``weights.npz``);
a synth stage writes ``resources.json``.
"""

from __future__ import annotations

import functools
import platform
import shutil
import subprocess
import time
import zlib
from importlib import metadata
from pathlib import Path

import numpy as np

from .fileio import atomic_path, read_json, write_json

MODEL_FILE = "model.h5"
METRICS_FILE = "metrics.json"
LAYERS_FILE = "layers.json"
WEIGHTS_FILE = "weights.npz"
RESOURCES_FILE = "resources.json"
CANDIDATES_FILE = "candidates.csv"
SCRATCH_DIR = "candidates"  # the hls4ml projects of an automatic step's candidates, removed at its end
PACKAGES = (
    "hlsnake", "tensorflow", "tf-keras", "qkeras", "tensorflow-model-optimization", "hls4ml", "da4ml",
    "snakemake", "numpy", "scikit-learn", "pandas", "h5py",
)  # fmt: skip


def stage_seed(seed: int, stage_dir) -> int:
    """A seed per stage from the config seed and the stage's path below the results root,
    so that a stage gets the same seed whatever order the jobs run in."""
    parts = Path(stage_dir).parts
    key = "/".join(parts[parts.index("train") - 2 :] if "train" in parts else parts)
    return (int(seed) * 1_000_003 + zlib.crc32(key.encode())) % (2**31 - 1)


@functools.cache
def _environment() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:  # hls4ml builds its bit-accurate C++ model with g++ (its build_lib.sh names g++)
        cxx = subprocess.run(["g++", "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        cxx = None
    return {"packages": versions, "python": platform.python_version(), "platform": platform.platform(), "tools": {"g++": cxx}}


def provenance(config_section: dict | None = None) -> dict:
    """What produced a stage: the resolved config sections it read, and the versions of
    Python, the packages and the C++ compiler."""
    return {**_environment(), "config": config_section or {}}


def _log(message: str) -> None:
    print(message, flush=True)


# -- data ------------------------------------------------------------------------------


def prepare_data(spec: dict, seed: int, out_path) -> dict:
    from . import data

    start = time.time()
    summary = data.prepare({**spec, "seed": seed}, out_path)
    summary["seconds"] = time.time() - start
    _log(f"prepare_data: {summary['dataset']}: {summary['n_train']} train / {summary['n_val']} val / {summary['n_test']} test")
    return summary


# -- model stages ----------------------------------------------------------------------


def _save_model_stage(model, split, out_dir: Path, stage: str, params: dict, extra: dict, config_section: dict, start: float):
    from .models import sparsity_per_layer, total_sparsity
    from .training import accuracy, count_params

    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = {
        "stage": stage,
        "params": params,
        "accuracy": accuracy(model, split, "test"),
        "val_accuracy": accuracy(model, split, "val"),
        "n_params": count_params(model),
        "sparsity": total_sparsity(model),
        "sparsity_per_layer": sparsity_per_layer(model),
        "seconds": time.time() - start,
        **extra,
        "provenance": provenance({**config_section, "dataset": split.spec}),
    }
    with atomic_path(out_dir / MODEL_FILE) as tmp:
        model.save(tmp, save_format="h5")
    write_json(out_dir / METRICS_FILE, metrics)
    _log(f"{stage}: {out_dir}: test accuracy {metrics['accuracy']:.4f}, sparsity {metrics['sparsity']:.2f}")
    return metrics


def train(data_path, out_dir, model_spec: dict, fit_cfg: dict, seed: int, threads: int | None = None) -> dict:
    """Train the float baseline; ``threads`` (the job's thread count) caps TensorFlow's pools."""
    from .data import Split
    from .kerasenv import seed_everything
    from .models import build, input_shape_for
    from .training import fit

    start, out_dir = time.time(), Path(out_dir)
    seed_everything(stage_seed(seed, out_dir), threads=threads)
    split = Split(data_path)
    shape = input_shape_for(model_spec, split.n_features, split.image_shape)
    model = build(model_spec, shape, split.n_classes)
    history = fit(model, split, fit_cfg, log=_log)
    sections = {"model": model_spec, "train": fit_cfg, "seed": seed}
    return _save_model_stage(model, split, out_dir, "train", {}, {"fit": history}, sections, start)


def _scale(parent, split, knobs: dict, sections: dict, out_dir: Path):
    from . import scale

    if "tolerance" in knobs:
        model, factor, record = scale.auto_scale(parent, split, knobs["tolerance"], sections["scale"], log=_log)
        return model, {"width_factor": factor, "hidden": scale.hidden_widths(model)}, record
    from .training import fit

    model = scale.scaled_copy(parent, knobs["width_factor"])
    fit(model, split, sections["scale"], log=_log)
    return model, {"width_factor": knobs["width_factor"], "hidden": scale.hidden_widths(model)}, None


def _prune(parent, split, knobs: dict, sections: dict, out_dir: Path):
    from . import prune

    if "tolerance" in knobs:
        model, sparsity, record = prune.auto_prune(parent, split, knobs["tolerance"], sections["prune"], log=_log)
        return model, {"sparsity": sparsity}, record
    model, _ = prune.prune(parent, split, knobs["sparsity"], sections["prune"], log=_log)
    return model, {"sparsity": knobs["sparsity"]}, None


def _quantize(parent, split, knobs: dict, sections: dict, out_dir: Path):
    from . import quantize

    if "tolerance" in knobs:
        model, wbits, abits, precisions, record = quantize.auto_quantize(
            parent, split, knobs["tolerance"], sections["quantize"], sections["hls"], out_dir / SCRATCH_DIR, log=_log
        )
    else:
        wbits, abits, record = knobs["weight_bits"], knobs["activation_bits"], None
        model, precisions, _ = quantize.quantize(parent, split, wbits, abits, sections["quantize"], log=_log)
    return model, {"weight_bits": wbits, "activation_bits": abits, "quantizers": precisions}, record


# task -> runner(parent model, split, knobs of the step, config sections, out_dir)
#   -> (model, realised parameters, candidate log or None)
MODEL_STEPS = {"scale": _scale, "prune": _prune, "quantize": _quantize}


def _write_candidates(record, out_dir: Path) -> None:
    """An automatic step's candidate log; its scratch hls4ml projects are removed."""
    record.write(out_dir / CANDIDATES_FILE)
    shutil.rmtree(out_dir / SCRATCH_DIR, ignore_errors=True)


def model_step(
    data_path, parent_dir, out_dir, task: str, knobs: dict, sections: dict, seed: int, threads: int | None = None
) -> dict:
    """Run one model step (fixed knob or automatic under a tolerance) on the parent's model.

    ``sections`` holds the config sections the task reads (its own, and ``hls`` for
    automatic quantisation). An automatic step writes every candidate it tried to
    ``candidates.csv``; its realised knobs (e.g. the sparsity it chose) go to metrics.json,
    and ``within_tolerance`` (False when it had to keep a model that misses its tolerance).
    ``threads`` (the job's thread count) caps TensorFlow's thread pools.
    """
    from .data import Split
    from .kerasenv import load_model, seed_everything

    start, out_dir = time.time(), Path(out_dir)
    seed_everything(stage_seed(seed, out_dir), threads=threads)
    split = Split(data_path)
    parent = load_model(Path(parent_dir) / MODEL_FILE)
    model, realised, record = MODEL_STEPS[task](parent, split, knobs, sections, out_dir)
    extra = {"knobs": knobs}
    if record is not None:
        _write_candidates(record, out_dir)
        extra.update(
            candidates=len(record.rows),
            baseline_val_accuracy=record.baseline,
            tolerance=record.tolerance,
            within_tolerance=bool(record.within_tolerance),
        )
    return _save_model_stage(model, split, out_dir, task, realised, extra, {**sections, "seed": seed}, start)


# -- hls4ml ----------------------------------------------------------------------------


def hls_convert(data_path, parent_dir, out_dir, hls_cfg: dict, knobs: dict) -> dict:
    """Convert to an hls4ml project, compile it with g++, and score it bit-accurately."""
    from . import hls
    from .data import Split
    from .kerasenv import load_model

    start, out_dir = time.time(), Path(out_dir)
    split = Split(data_path)
    model = load_model(Path(parent_dir) / MODEL_FILE)
    knobs = {**knobs, "io_type": knobs.get("io_type", hls_cfg.get("io_type"))}
    precisions, extra = None, {}
    if "tolerance" in knobs:  # automatic mode: narrow the data types under the tolerance
        precisions, record = hls.auto_precision(model, split, hls_cfg, knobs, knobs["tolerance"], out_dir / SCRATCH_DIR, log=_log)
        _write_candidates(record, out_dir)
        extra = {"precisions": precisions, "candidates": len(record.rows), "baseline_val_accuracy": record.baseline}
    hls_model, notes = hls.convert(model, str(out_dir / "prj"), hls_cfg, knobs, precisions)
    hls.compile_model(hls_model)
    compiled = time.time()
    scores = hls.score(hls_model, model, split)
    layers, weights = hls.describe(hls_model)
    write_json(out_dir / LAYERS_FILE, {"clock_period": hls_cfg["clock_period"], "part": hls_cfg["part"], "layers": layers})
    with atomic_path(out_dir / WEIGHTS_FILE, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **weights)
    metrics = {
        "stage": "hls",
        "params": knobs,
        **scores,
        **extra,
        "conversion_notes": notes,
        "compile_seconds": compiled - start,
        "seconds": time.time() - start,
        "provenance": provenance({"hls": hls_cfg}),
    }
    write_json(out_dir / METRICS_FILE, metrics)
    _log(
        f"hls: {out_dir}: bit-accurate accuracy {scores['accuracy']:.4f} "
        f"(Keras {scores['keras_accuracy']:.4f}, agreement {scores['agreement']:.4f})"
    )
    return metrics


# -- synthesis -------------------------------------------------------------------------


def load_description(hls_dir) -> tuple[dict, dict]:
    hls_dir = Path(hls_dir)
    description = read_json(hls_dir / LAYERS_FILE)
    with np.load(hls_dir / WEIGHTS_FILE) as f:
        weights = {k: f[k] for k in f.files}
    return description, weights


def csynth(hls_dir, out_path, backend: str, hls_cfg: dict, synth_cfg: dict, data_path) -> dict:
    """Resources and latency of the design in ``hls_dir`` from the synthesis backend."""
    from . import synth

    start, hls_dir, out_path = time.time(), Path(hls_dir), Path(out_path)
    job = synth.SynthJob(
        hls_dir=hls_dir,
        model_dir=hls_dir.parent,
        data_path=Path(data_path),
        out_dir=out_path.parent,
        hls=hls_cfg,
        synth=synth_cfg,
    )
    result = synth.run(backend, job)
    result["seconds"] = time.time() - start
    result["provenance"] = provenance({"hls": hls_cfg, "synth": synth_cfg})
    write_json(out_path, result)
    _log(
        f"csynth ({result['source']}): {out_path}: DSP {result['DSP']}, LUT {result['LUT']}, "
        f"latency {result['latency_cycles']} cycles"
    )
    return result


# -- control: reduce (best of a fork) and branch (feedback) -----------------------------

BRANCH_FINAL_FILE = "final.json"
REDUCE_TABLE = "reduce.csv"


def reduce(branch_paths: list[str], objective: str, out_dir) -> dict:
    """Keep the branch of a fork with the highest ``objective``: its model becomes this
    stage's model; ``reduce.csv`` lists every branch with its objective value."""
    import pandas as pd

    from . import expressions
    from .designs import parse_design_path
    from .fileio import write_csv
    from .failures import DesignFailed
    from .report import REALISED, decision_values, design_row

    out_dir = Path(out_dir)
    rows = [design_row(parse_design_path(path)) for path in branch_paths]
    # a failed branch cannot win; when every branch failed, the reduce stage fails too
    values = [
        expressions.objective(objective, decision_values(row), "reduce.objective") if row["status"] == "ok" else -np.inf
        for row in rows
    ]
    if all(v == -np.inf for v in values):
        raise DesignFailed("every branch of the fork failed: " + "; ".join(row["reason"] for row in rows))
    best = int(np.argmax(values))  # the first of equals: the order of the config decides ties
    chosen = parse_design_path(branch_paths[best])
    table = pd.DataFrame(rows).assign(objective=values, chosen=[i == best for i in range(len(rows))])
    write_csv(out_dir / REDUCE_TABLE, table)
    with atomic_path(out_dir / MODEL_FILE) as tmp:
        shutil.copyfile(Path(chosen.model_path) / MODEL_FILE, tmp)
    metrics = read_json(Path(chosen.model_path) / METRICS_FILE)
    metrics["stage"] = "reduce"
    metrics["params"] = {"chosen": chosen.label, **{k: rows[best][k] for k in REALISED if k in rows[best]}}
    metrics["reduce"] = {"objective": objective, "chosen": chosen.path, "values": dict(zip(branch_paths, values))}
    write_json(out_dir / METRICS_FILE, metrics)
    _log(f"reduce: {out_dir}: kept {chosen.label} ({objective} = {values[best]:.4f} on the validation split) of {len(rows)} branches")
    return metrics


def branch_check(iteration: int, design_path: str, when: str, out_path) -> dict:
    """Evaluate the branch predicate on one iteration's finished design."""
    from . import expressions
    from .designs import parse_design_path
    from .report import decision_values, design_row

    row = design_row(parse_design_path(design_path))
    record = {"iteration": iteration, "design": design_path, "when": when}
    if row["status"] != "ok":  # a failed iteration ends the branch (its reason is kept)
        record.update(fired=False, status="failed", reason=row["reason"])
    else:
        record.update(fired=expressions.predicate(when, decision_values(row), "branch.when"), status="ok")
        record.update({k: row[k] for k in ("val_accuracy", "accuracy", "DSP", "LUT", "FF", "latency_cycles")})
    fired = record["fired"]
    write_json(out_path, record)
    _log(f"branch: iteration {iteration}: {when} is {fired} for {design_path}")
    return record


def branch_final(iteration_files: list, max_iterations: int, out_path) -> dict:
    records = [read_json(path) for path in iteration_files]
    last = records[-1]
    if last.get("status") == "failed":
        reason = f"iteration {last['iteration']} failed: {last['reason']}"
    elif last["fired"]:
        reason = f"predicate still true after {max_iterations} iteration(s)"
    else:
        reason = "predicate false"
    final = {"design": last["design"], "iterations": records, "stopped": reason}
    write_json(out_path, final)
    _log(f"branch: {out_path}: final design {last['design']} ({reason})")
    return final
