"""The summary of a set of designs: one row per design, and the accuracy/cost plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .designs import Design
from .fileio import atomic_path, read_json, write_csv
from .pareto import non_dominated
from .stages import METRICS_FILE, RESOURCES_FILE

RESOURCE_COLUMNS = ("DSP", "LUT", "FF", "BRAM_18K", "latency_cycles", "latency_ns", "interval")
# the front of the summary: accuracy up, DSP and LUT down
FRONT = {"accuracy": "max", "DSP": "min", "LUT": "min"}


def design_row(design: Design) -> dict:
    model_metrics = read_json(Path(design.model_path) / METRICS_FILE)
    hls_metrics = read_json(Path(design.hls_path) / METRICS_FILE)
    resources = read_json(Path(design.path) / RESOURCES_FILE)
    row = {"design": design.path, "label": design.label, "dataset": design.dataset, "model": design.model, **design.params()}
    row.update(
        {
            "accuracy": hls_metrics["accuracy"],
            "keras_accuracy": model_metrics["accuracy"],
            "hls_keras_agreement": hls_metrics["agreement"],
            "sparsity_measured": model_metrics["sparsity"],
            "n_params": model_metrics["n_params"],
        }
    )
    row.update({key: resources.get(key) for key in RESOURCE_COLUMNS})
    source = resources["source"] + (f" {resources['estimator_version']}" if "estimator_version" in resources else "")
    row["source"] = source
    return row


def summarise(designs: list[Design]) -> pd.DataFrame:
    frame = pd.DataFrame([design_row(d) for d in designs])
    frame["pareto"] = non_dominated(frame[list(FRONT)].to_numpy(float), list(FRONT.values()))
    return frame


def plot(frame: pd.DataFrame, path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for ax, cost in zip(axes, ("DSP", "LUT")):
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
    axes[0].legend(loc="lower right")
    fig.suptitle(title or "accuracy vs hardware cost")
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=130)
    plt.close(fig)


def write(designs: list[Design], csv_path, png_path) -> pd.DataFrame:
    frame = summarise(designs)
    write_csv(csv_path, frame)
    first = designs[0]
    plot(frame, png_path, title=f"{first.dataset} / {first.model}: accuracy vs hardware cost")
    return frame
