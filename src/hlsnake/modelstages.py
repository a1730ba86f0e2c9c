"""The stages that train a model or convert it (TensorFlow, QKeras, tfmot, hls4ml): the
float baseline, a model step of any task (its runner is the task's, :mod:`hlsnake.tasks`),
and the hls4ml design with its bit-accurate accuracy. Each reads its parent stage's
files and writes its own (:mod:`hlsnake.artifacts`)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from . import hls
from .evaluation import CSIM, EvaluationMismatch, bit_accurate, check_against_csim
from .graph import classes_of
from .artifacts import (
    CANDIDATES_FILE,
    CSIM_SCRATCH_DIR,
    MODEL_FILE,
    PROJECT_DIR,
    SCRATCH_DIR,
    read_metrics,
    write_description,
    write_metrics,
)
from .data import Split
from .fileio import atomic_path, write_json
from .joblog import log
from .kerasenv import load_model, seed_everything
from .modelfile import load_user_model
from .models import build, check_shapes, input_shape_for, reinitialise, sparsity_per_layer, total_sparsity
from .modelspec import file_digest
from .provenance import provenance, stage_seed
from .tasks import TASKS
from .training import accuracy, count_params, fit

SPLITS = ("test", "val")  # the accuracy the tables report, and the one decisions use


def _save_model_stage(model, split, out_dir: Path, stage: str, params: dict, extra: dict, config_section: dict, start: float):
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
    write_metrics(out_dir, metrics)
    log(f"{stage}: {out_dir}: test accuracy {metrics['accuracy']:.4f}, sparsity {metrics['sparsity']:.2f}")
    return metrics


def train(data_path, out_dir, model_spec: dict, fit_cfg: dict, seed: int, threads: int | None = None) -> dict:
    """The baseline: the network the config builds, trained; or a user's own network
    (``model.type: keras``), as it is (``pretrained``) or re-initialised and trained.
    ``threads`` (the job's thread count) caps TensorFlow's pools."""
    start, out_dir = time.time(), Path(out_dir)
    seed_everything(stage_seed(seed, out_dir), threads=threads)
    split = Split(data_path)
    sections = {"model": model_spec, "train": fit_cfg, "seed": seed}
    if model_spec["type"] == "keras":
        model = load_user_model(model_spec["path"])
        check_shapes(model, split.n_features, split.image_shape, split.n_classes)
        sections["model"] = {**model_spec, "file_digest": file_digest(model_spec["path"])}
        if model_spec["pretrained"]:  # the given model as it is: nothing is retrained
            log(f"  pretrained model {model_spec['path']}: not retrained")
            return _save_model_stage(model, split, out_dir, "train", {}, {"fit": None}, sections, start)
        model = reinitialise(model, stage_seed(seed, out_dir))
    else:
        model = build(model_spec, input_shape_for(model_spec, split.n_features, split.image_shape), split.n_classes)
    history = fit(model, split, fit_cfg, log=log)
    return _save_model_stage(model, split, out_dir, "train", {}, {"fit": history}, sections, start)


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
    start, out_dir = time.time(), Path(out_dir)
    seed_everything(stage_seed(seed, out_dir), threads=threads)
    split = Split(data_path)
    parent = load_model(Path(parent_dir) / MODEL_FILE)
    model, realised, record = TASKS[task].run(knobs)(parent, split, knobs, sections, out_dir, log)
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
    """Convert to an hls4ml project and score it bit-accurately, by the evaluator that
    ``hls.evaluate`` asks for (:mod:`hlsnake.evaluation`); with the C simulation, the emulator
    is checked against it, and a disagreement fails the design."""
    start, out_dir = time.time(), Path(out_dir)
    split = Split(data_path)
    model = load_model(Path(parent_dir) / MODEL_FILE)
    knobs = {**knobs, "io_type": knobs.get("io_type", hls_cfg.get("io_type"))}
    extra = {}
    precisions, record = TASKS["hls"].run(knobs)(model, split, hls_cfg, knobs, out_dir, log)
    if record is not None:  # automatic mode: the data types narrowed under the tolerance
        _write_candidates(record, out_dir)
        extra = {"precisions": precisions, "candidates": len(record.rows), "baseline_val_accuracy": record.baseline}
    hls_model, notes = hls.convert(model, str(out_dir / PROJECT_DIR), hls_cfg, knobs, precisions)
    evaluated = time.time()
    bit = bit_accurate(hls_model, hls_cfg.get("evaluate", "emulate"))
    scores = hls.score(bit, model, split)
    evaluated = time.time() - evaluated
    if bit.evaluator == CSIM and not bit.note:  # every design simulated in C: the emulator must agree
        extra["csim_check"], _ = check_against_csim(hls_model, [split.xy(p, model.input_shape[1:])[0] for p in SPLITS], compiled=True)
    else:
        hls.write(hls_model)  # the project, for a vendor tool (the C simulation wrote it already)
    layers, weights = hls.describe(hls_model)
    write_description(out_dir, {"clock_period": hls_cfg["clock_period"], "part": hls_cfg["part"], "layers": layers}, weights)
    metrics = {
        "stage": "hls",
        "params": knobs,
        **scores,
        **extra,
        "conversion_notes": notes,
        "evaluation_seconds": evaluated,  # the bit-accurate accuracy of the test and validation splits
        **({"compile_seconds": bit.seconds["compile"]} if "compile" in bit.seconds else {}),
        "seconds": time.time() - start,
        "provenance": provenance({"hls": hls_cfg}),
    }
    write_metrics(out_dir, metrics)
    log(
        f"hls: {out_dir}: bit-accurate accuracy {scores['accuracy']:.4f} [{bit.evaluator}, {evaluated:.2f} s] "
        f"(Keras {scores['keras_accuracy']:.4f}, agreement {scores['agreement']:.4f})" + (f"; {bit.note}" if bit.note else "")
    )
    return metrics


def csim_check(data_path, parent_dir, hls_dir, hls_cfg: dict, knobs: dict, out_path) -> dict:
    """The C simulation of a design whose accuracy the emulator computed: it must agree with
    the emulator on every output of the test and validation splits, and give the accuracies
    the hls stage recorded; else the design fails (:class:`hlsnake.evaluation.EvaluationMismatch`)."""
    start, hls_dir, out_path = time.time(), Path(hls_dir), Path(out_path)
    split = Split(data_path)
    model = load_model(Path(parent_dir) / MODEL_FILE)
    recorded = read_metrics(hls_dir)
    knobs = {**knobs, "io_type": knobs.get("io_type", hls_cfg.get("io_type"))}
    scratch = out_path.parent / CSIM_SCRATCH_DIR
    try:
        hls_model, _ = hls.convert(model, str(scratch), hls_cfg, knobs, recorded.get("precisions"))
        parts = {part: split.xy(part, model.input_shape[1:]) for part in SPLITS}
        record, outputs = check_against_csim(hls_model, [X for X, _ in parts.values()])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if record["checked"]:
        for (part, (_, y)), out, prefix in zip(parts.items(), outputs, ("", "val_")):
            simulated = float(np.mean(classes_of(model, out) == y))
            if simulated != recorded[f"{prefix}accuracy"]:
                raise EvaluationMismatch(
                    f"the C simulation gives {part} accuracy {simulated:.6f}, the hls stage recorded {recorded[f'{prefix}accuracy']:.6f}"
                )
            record[f"{prefix}accuracy"] = simulated
    record.update(status="ok", seconds=time.time() - start, provenance=provenance({"hls": hls_cfg}))
    write_json(out_path, record)
    log(f"csim check: {hls_dir}: " + (f"the C simulation agrees on {record['samples']} samples" if record["checked"] else record["reason"]))
    return record
