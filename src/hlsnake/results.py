"""The results of designs as rows: one row per design (its knobs, what the automatic
tasks chose, accuracy, hardware numbers and their source, or its failure), and the
values that decisions read of a row (reduce objectives, branch predicates, search scores).
"""

from __future__ import annotations

from pathlib import Path

from .artifacts import (
    BRANCH_FINAL_FILE,
    CSIM_CHECK_FILE,
    METRICS_FILE,
    RESOURCES_FILE,
    read_metrics,
    read_resources,
    stage_failure,
)
from .designs import Design, parse_design_path
from .evaluation import CSIM
from .fileio import read_json
from .tasks import TASKS
from .vocabulary import ERROR_SUFFIX, ESTIMATE_ERRORS, HARDWARE

# what the automatic tasks choose (e.g. the sparsity under a tolerance), reported per row
REALISED = tuple(dict.fromkeys(key for task in TASKS.values() for key in task.realised))


def final_design(design: Design) -> Design:
    """The design a row stands for: a branch stands for the iteration it ended with."""
    if design.steps[-1].task == "branch":
        return parse_design_path(read_json(Path(design.path) / BRANCH_FINAL_FILE)["design"])
    return design


def design_files(design: Design) -> list[str]:
    """The files a row of ``design`` reads (inputs of the rules that read rows)."""
    if design.steps[-1].task == "branch":
        return [f"{design.path}/{BRANCH_FINAL_FILE}"]
    models = [f"{stage}/{METRICS_FILE}" for stage in design.model_stage_paths]
    return [*models, f"{design.hls_path}/{METRICS_FILE}", f"{design.path}/{RESOURCES_FILE}"]


def csim_check(design: Design) -> dict | None:
    """The record of the C simulation's check of a design that reached a front (None: not checked)."""
    path = Path(design.hls_path) / CSIM_CHECK_FILE
    return read_json(path) if path.is_file() and path.stat().st_size else None


def design_failure(design: Design) -> dict | None:
    """The record of the first failed stage of a design, or None."""
    for stage in design.stage_paths()[1:]:
        record = stage_failure(stage)
        if record:
            return record
    return None


def _text(value):
    return "-".join(map(str, value)) if isinstance(value, list) else value


def design_row(design: Design) -> dict:
    """One row. A failed design is a row too: its status and reason, no numbers."""
    final = final_design(design)
    row = {"design": design.path, "label": design.label, "dataset": design.dataset, "model": design.model, **final.params()}
    check = csim_check(final) or {}
    failure = design_failure(final) or (check if check.get("status") == "failed" else None)
    if failure:
        return {**row, "status": "failed", "reason": f"{failure['failed_stage']}: {failure['reason']}"}
    model_metrics = read_metrics(final.model_path)
    hls_metrics = read_metrics(final.hls_path)
    resources = read_resources(final.path)
    # what the automatic tasks chose (e.g. the sparsity under a tolerance), from their stages,
    # and whether each kept its tolerance (automatic quantisation may keep a model that does not)
    for step, stage in zip(final.steps, final.stage_paths()[1:]):
        if "tolerance" in step.params or step.task == "reduce":
            stage_metrics = read_metrics(stage)
            realised = stage_metrics["params"]
            row.update({key: _text(realised[key]) for key in REALISED if key in realised})
            if "tolerance" in step.params or "within_tolerance" in stage_metrics:
                kept = bool(stage_metrics.get("within_tolerance", True))
                row["within_tolerance"] = row.get("within_tolerance", True) and kept
    if final is not design:
        row["final_design"] = final.path
    row.update(
        {
            "accuracy": hls_metrics["accuracy"],
            "keras_accuracy": model_metrics["accuracy"],
            # the validation split decides (reduce, branch, search); the test split reports
            "val_accuracy": hls_metrics.get("val_accuracy"),
            "val_keras_accuracy": model_metrics.get("val_accuracy"),
            "hls_keras_agreement": hls_metrics["agreement"],
            # who computed the accuracy; results made before the emulator were all simulated in C
            "evaluator": hls_metrics.get("evaluator", CSIM),
            "csim_checked": bool(check.get("checked")) or hls_metrics.get("evaluator", CSIM) == CSIM,
            "sparsity_measured": model_metrics["sparsity"],
            "n_params": model_metrics["n_params"],
        }
    )
    row.update({key: resources.get(key) for key in HARDWARE})
    # so a reader sees how far an estimated number may be off; measured ones carry no error
    errors = resources.get("error_pct") or {}
    row.update({key + ERROR_SUFFIX: errors.get(key) for key in ESTIMATE_ERRORS})
    source = resources["source"] + (f" {resources['estimator_version']}" if "estimator_version" in resources else "")
    row["source"] = source
    row["status"] = "ok"
    return row


def decision_values(row: dict) -> dict:
    """A row as decisions see it: ``accuracy`` is the validation accuracy, so reduce
    objectives, branch predicates and search scores never select on the test split."""
    return {**row, "accuracy": row["val_accuracy"], "keras_accuracy": row["val_keras_accuracy"]}

