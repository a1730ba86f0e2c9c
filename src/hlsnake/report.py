"""The summary of a set of designs: one row per design, and the accuracy/cost plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .designs import Design
from .fileio import write_csv, write_text
from .pareto import non_dominated
from .plotting import error_bars, pyplot, save, symlog_if_wide
from .evaluation import EMULATOR
from .results import design_row, final_design
from .vocabulary import ERROR_COLUMNS, HARDWARE, SUMMARY_FRONT, senses

# the columns of the HTML table (the CSV has every column)
TABLE_COLUMNS = (
    "label", "accuracy", "keras_accuracy", "evaluator", "csim_checked", "sparsity_measured", "n_params", *HARDWARE, *ERROR_COLUMNS, "source",
    "pareto", "within_tolerance", "status", "reason",
)  # fmt: skip


def summary_frame(designs: list[Design]) -> pd.DataFrame:
    """One row per design (:func:`hlsnake.results.design_row`), with its place on the front
    of accuracy against DSP and LUT."""
    frame = pd.DataFrame([design_row(d) for d in designs])
    for column in ("accuracy", *HARDWARE, *ERROR_COLUMNS):  # absent when every design failed
        frame[column] = pd.to_numeric(frame.get(column, pd.Series(np.nan, index=frame.index)))
    # failed designs have NaN objectives, which keeps them off the front
    frame["pareto"] = non_dominated(frame[list(SUMMARY_FRONT)].to_numpy(float), senses(SUMMARY_FRONT))
    return frame


def unchecked_front(designs: list[Design]) -> list[str]:
    """The hls stages of the summary's front whose accuracy the emulator computed: the C
    simulation checks them."""
    frame = summary_frame(designs)
    emulated = frame["pareto"] & (frame.get("evaluator", pd.Series(index=frame.index, dtype=object)) == EMULATOR)
    return [final_design(design).hls_path for design, chosen in zip(designs, emulated) if chosen]


def plot(frame: pd.DataFrame, path, title: str = "") -> None:
    plt = pyplot()
    failed = int((frame["status"] != "ok").sum())
    frame = frame[frame["status"] == "ok"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    if frame.empty:
        fig.text(0.5, 0.5, "every design failed: see the reason column of the summary", ha="center")
    for ax, cost in zip(axes if not frame.empty else (), ("DSP", "LUT")):
        front2d = non_dominated(frame[["accuracy", cost]].to_numpy(float), ["max", "min"])
        ax.scatter(frame[cost], frame["accuracy"], c="0.6", s=28, label="design")
        error_bars(ax, frame, cost)
        best = frame[front2d].sort_values(cost)
        ax.plot(best[cost], best["accuracy"], "o-", color="C3", ms=7, label="non-dominated")
        for _, row in frame.iterrows():
            ax.annotate(row["label"], (row[cost], row["accuracy"]), fontsize=6, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel(f"{cost} ({frame['source'].iloc[0]})")
        ax.set_ylabel("accuracy (bit-accurate hls4ml)")
        ax.grid(alpha=0.3)
        symlog_if_wide(ax, frame[cost])
    if not frame.empty:
        axes[0].legend(loc="lower right")
    fig.suptitle((title or "accuracy vs hardware cost") + (f" ({failed} failed design(s) not shown)" if failed else ""))
    save(fig, path, dpi=130)


def html_table(frame: pd.DataFrame, title: str) -> str:
    """The summary as a standalone HTML page (Snakemake's report shows HTML, not CSV)."""
    table = frame[[c for c in TABLE_COLUMNS if c in frame]].sort_values("accuracy", ascending=False)
    # error columns that no row fills (every number measured) would only widen the table
    table = table.drop(columns=[c for c in ERROR_COLUMNS if c in table and table[c].isna().all()])
    body = table.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0, classes="summary")
    style = (
        "body{font-family:sans-serif;font-size:13px} table{border-collapse:collapse}"
        "th,td{padding:3px 8px;text-align:right;white-space:nowrap} td:first-child{text-align:left} tr:nth-child(even){background:#f3f3f3}"
    )
    return f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title><style>{style}</style></head>\n<body><h3>{title}</h3>\n{body}\n</body></html>\n"


def write(designs: list[Design], csv_path, png_path, html_path) -> pd.DataFrame:
    frame = summary_frame(designs)
    write_csv(csv_path, frame)
    first = designs[0]
    plot(frame, png_path, title=f"{first.dataset} / {first.model}: accuracy vs hardware cost")
    write_text(html_path, html_table(frame, f"{first.dataset} / {first.model}: {len(frame)} designs"))
    return frame
