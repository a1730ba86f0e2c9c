"""The summary of a set of designs: one row per design, and the accuracy/cost plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import failures
from .designs import Design, parse_design_path
from .fileio import atomic_path, read_json, write_csv, write_text
from .pareto import non_dominated
from .stages import BRANCH_FINAL_FILE, METRICS_FILE, RESOURCES_FILE

RESOURCE_COLUMNS = ("DSP", "LUT", "FF", "BRAM_18K", "latency_cycles", "latency_ns", "interval")
# the front of the summary: accuracy up, DSP and LUT down
FRONT = {"accuracy": "max", "DSP": "min", "LUT": "min"}


REALISED = ("width_factor", "hidden", "sparsity", "weight_bits", "activation_bits")


def final_design(design: Design) -> Design:
    """The design a row stands for: a branch stands for the iteration it ended with."""
    if design.steps[-1].task == "branch":
        return parse_design_path(read_json(Path(design.path) / BRANCH_FINAL_FILE)["design"])
    return design


def design_files(design: Design) -> list[str]:
    """The files a summary row of ``design`` reads (inputs of the rules that read rows)."""
    if design.steps[-1].task == "branch":
        return [f"{design.path}/{BRANCH_FINAL_FILE}"]
    models = [f"{stage}/{METRICS_FILE}" for stage in design.model_stage_paths]
    return [*models, f"{design.hls_path}/{METRICS_FILE}", f"{design.path}/{RESOURCES_FILE}"]


def _text(value):
    return "-".join(map(str, value)) if isinstance(value, list) else value


def design_row(design: Design) -> dict:
    """One summary row. A failed design is a row too: its status and reason, no numbers."""
    final = final_design(design)
    row = {"design": design.path, "label": design.label, "dataset": design.dataset, "model": design.model, **final.params()}
    failure = failures.design_failure(final)
    if failure:
        return {**row, "status": "failed", "reason": f"{failure['failed_stage']}: {failure['reason']}"}
    model_metrics = read_json(Path(final.model_path) / METRICS_FILE)
    hls_metrics = read_json(Path(final.hls_path) / METRICS_FILE)
    resources = read_json(Path(final.path) / RESOURCES_FILE)
    # what the automatic tasks chose (e.g. the sparsity under a tolerance), from their stages,
    # and whether each kept its tolerance (automatic quantisation may keep a model that does not)
    for step, stage in zip(final.steps, final.stage_paths()[1:]):
        if "tolerance" in step.params or step.task == "reduce":
            stage_metrics = read_json(Path(stage) / METRICS_FILE)
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
            "sparsity_measured": model_metrics["sparsity"],
            "n_params": model_metrics["n_params"],
        }
    )
    row.update({key: resources.get(key) for key in RESOURCE_COLUMNS})
    source = resources["source"] + (f" {resources['estimator_version']}" if "estimator_version" in resources else "")
    row["source"] = source
    row["status"] = "ok"
    return row


def decision_values(row: dict) -> dict:
    """A row as decisions see it: ``accuracy`` is the validation accuracy, so reduce
    objectives, branch predicates and search scores never select on the test split."""
    return {**row, "accuracy": row["val_accuracy"], "keras_accuracy": row["val_keras_accuracy"]}


def summarise(designs: list[Design]) -> pd.DataFrame:
    frame = pd.DataFrame([design_row(d) for d in designs])
    for column in ("accuracy", *RESOURCE_COLUMNS):  # absent when every design failed
        frame[column] = pd.to_numeric(frame.get(column, pd.Series(np.nan, index=frame.index)))
    # failed designs have NaN objectives, which keeps them off the front
    frame["pareto"] = non_dominated(frame[list(FRONT)].to_numpy(float), list(FRONT.values()))
    return frame


def plot(frame: pd.DataFrame, path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    failed = int((frame["status"] != "ok").sum())
    frame = frame[frame["status"] == "ok"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    if frame.empty:
        fig.text(0.5, 0.5, "every design failed: see the reason column of the summary", ha="center")
    for ax, cost in zip(axes if not frame.empty else (), ("DSP", "LUT")):
        front2d = non_dominated(frame[["accuracy", cost]].to_numpy(float), ["max", "min"])
        ax.scatter(frame[cost], frame["accuracy"], c="0.6", s=28, label="design")
        best = frame[front2d].sort_values(cost)
        ax.plot(best[cost], best["accuracy"], "o-", color="C3", ms=7, label="non-dominated")
        for _, row in frame.iterrows():
            ax.annotate(row["label"], (row[cost], row["accuracy"]), fontsize=6, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel(f"{cost} ({frame['source'].iloc[0]})")
        ax.set_ylabel("accuracy (bit-accurate hls4ml)")
        ax.grid(alpha=0.3)
        if frame[cost].max() > 20 * max(1, frame[cost][frame[cost] > 0].min() if (frame[cost] > 0).any() else 1):
            ax.set_xscale("symlog", linthresh=1)
    if not frame.empty:
        axes[0].legend(loc="lower right")
    fig.suptitle((title or "accuracy vs hardware cost") + (f" ({failed} failed design(s) not shown)" if failed else ""))
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=130)
    plt.close(fig)


# the columns of the HTML table (the CSV has every column)
TABLE_COLUMNS = ("label", "accuracy", "keras_accuracy", "sparsity_measured", "n_params", *RESOURCE_COLUMNS, "source", "pareto", "within_tolerance", "status", "reason")


def html_table(frame: pd.DataFrame, title: str) -> str:
    """The summary as a standalone HTML page (Snakemake's report shows HTML, not CSV)."""
    table = frame[[c for c in TABLE_COLUMNS if c in frame]].sort_values("accuracy", ascending=False)
    body = table.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0, classes="summary")
    style = (
        "body{font-family:sans-serif;font-size:13px} table{border-collapse:collapse}"
        "th,td{padding:3px 8px;text-align:right;white-space:nowrap} td:first-child{text-align:left} tr:nth-child(even){background:#f3f3f3}"
    )
    return f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title><style>{style}</style></head>\n<body><h3>{title}</h3>\n{body}\n</body></html>\n"


def write(designs: list[Design], csv_path, png_path, html_path) -> pd.DataFrame:
    frame = summarise(designs)
    write_csv(csv_path, frame)
    first = designs[0]
    plot(frame, png_path, title=f"{first.dataset} / {first.model}: accuracy vs hardware cost")
    write_text(html_path, html_table(frame, f"{first.dataset} / {first.model}: {len(frame)} designs"))
    return frame
