"""Trials of a search or a grid: their results, scores, Pareto front, hypervolume and plots.

Objectives: the bit-accurate hls4ml accuracy (maximised) and DSP, LUT, FF and latency in
cycles from the synthesis backend (minimised). The scalar score that TPE optimises is the
reference framework's: ``accuracy + sum_k w_k * (budget_k - use_k) / budget_k``, with an
accuracy floor as a hard constraint. A design below the floor is *infeasible*, one whose
stage failed is *failed* (see failures.py); both stay in the table, marked, and neither
is on the front. The score and the floor use the validation accuracy (decisions never
see the test split); the tables, fronts and hypervolume report the test accuracy.

The hypervolume is measured on normalised objectives — accuracy as
``(accuracy - floor) / (1 - floor)``, each resource as ``use / budget`` — against the
reference point (accuracy = floor, each resource = its budget), i.e. (0, 1, 1, ...)
normalised: the share of the box "above the floor and within the budgets" that the
front dominates, between 0 and 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .artifacts import stage_seconds
from .designs import Design, parse_design_path
from .fileio import read_json, write_csv, write_json
from .pareto import hypervolume, non_dominated
from .plotting import error_bars, pyplot, save, symlog_if_wide
from .evaluation import CSIM, EMULATOR, SOURCES
from .results import csim_check, design_failure, design_row, final_design
from .vocabulary import ERROR_COLUMNS, FRONT_PLOTS, MEASURED, SEARCH_OBJECTIVES, senses

INFEASIBLE_LOSS = 1e6  # TPE loss of a design below the accuracy floor: after every feasible one
# text columns of the result tables (read back as text: "0.10" stays "0.10")
TEXT_COLUMNS = ("design", "label", "point", "origin", "status", "failed_stage", "reason", "evaluator", "accuracy_source", "resource_source")


# -- one design's result -----------------------------------------------------------------


def result_row(design: Design) -> dict:
    """What a finished (or failed) design measured, with the source of each number."""
    row = {"design": design.path, "label": design.label, "stage_seconds": _stage_seconds(design)}
    failure = design_failure(design)
    if failure:
        return {**row, "status": "failed", "failed_stage": failure["failed_stage"], "reason": failure["reason"]}
    measured = design_row(design)
    if measured["status"] != "ok":  # the C simulation disagreed with the emulator
        return {**row, "status": "failed", "failed_stage": "csim check", "reason": measured["reason"]}
    row.update({key: measured.get(key) for key in (*MEASURED, *ERROR_COLUMNS)})
    source = f"{SOURCES[measured['evaluator']]}, test split"
    return {**row, "status": "ok", "evaluator": measured["evaluator"], "accuracy_source": source, "resource_source": measured["source"]}


def _stage_seconds(design: Design) -> float:
    """Compute time of the design's stages after training (a shared stage counts in each design)."""
    return round(sum(stage_seconds(stage) for stage in design.stage_paths()[1:]), 2)


def evaluate(proposals_path, out_path) -> pd.DataFrame:
    """The results of one round's proposals (their designs are built by then)."""
    record = read_json(proposals_path)
    rows = []
    for proposal in record["proposals"]:
        point = proposal["point"]
        row = {"trial": proposal["trial"], "round": record["round"], "origin": proposal["origin"]}
        row.update({name: _text(value) for name, value in point.items()})
        row["point"] = json.dumps(point, sort_keys=True)
        row.update(result_row(parse_design_path(proposal["design"])))
        rows.append(row)
    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=["trial", "round", "design", "point", "status"])
    write_csv(out_path, frame)
    return frame


def _text(value) -> str:
    if value is None:
        return "none"
    return "-".join(map(str, value)) if isinstance(value, list) else str(value)


def read_results(paths) -> pd.DataFrame:
    frames = [pd.read_csv(p, dtype={c: str for c in TEXT_COLUMNS}, keep_default_na=False, na_values=[""]) for p in paths]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["trial", "round", "design", "point", "status"])
    return pd.concat(frames, ignore_index=True).sort_values("trial", kind="stable").reset_index(drop=True)


# -- score and feasibility ----------------------------------------------------------------


def assess(row: dict, score: dict) -> tuple[str, str, float]:
    """(status, reason, score) of a result row: ok, infeasible (below the floor) or failed."""
    if row.get("status") == "failed":
        return "failed", str(row.get("reason") or ""), float("nan")
    accuracy = float(row["val_accuracy"])  # decisions use the validation split, never the test split
    value = accuracy + sum(
        weight * (score["budgets"][k] - float(row[k])) / score["budgets"][k] for k, weight in score["weights"].items() if weight
    )
    if accuracy < score["accuracy_floor"]:
        return "infeasible", f"validation accuracy {accuracy:.4f} below the floor {score['accuracy_floor']}", value
    return "ok", "", value


def loss(row: dict, score: dict) -> float | None:
    """TPE's loss (lower is better); None for a failed design."""
    status, _, value = assess(row, score)
    if status == "failed":
        return None
    if status == "infeasible":
        return INFEASIBLE_LOSS + score["accuracy_floor"] - float(row["val_accuracy"])
    return -value


def scored(frame: pd.DataFrame, score: dict) -> pd.DataFrame:
    frame = frame.copy()
    assessed = [assess(row, score) for row in frame.to_dict("records")]
    frame["status"] = [a[0] for a in assessed]
    frame["reason"] = [a[1] for a in assessed]
    frame["score"] = [a[2] for a in assessed]
    frame["feasible"] = frame["status"] == "ok"
    for column in MEASURED:
        if column not in frame:
            frame[column] = np.nan
    return frame


# -- front and hypervolume ----------------------------------------------------------------


def front_mask(frame: pd.DataFrame, objectives=SEARCH_OBJECTIVES) -> np.ndarray:
    """Feasible trials that no feasible trial dominates."""
    values = frame[list(objectives)].to_numpy(float, copy=True)
    values[~frame["feasible"].to_numpy(bool)] = np.nan
    return non_dominated(values, senses(objectives))


def reference_point(score: dict, objectives) -> dict:
    return {o: (score["accuracy_floor"] if o == "accuracy" else score["budgets"][o]) for o in objectives}


def normalised(frame: pd.DataFrame, score: dict, objectives) -> np.ndarray:
    floor = score["accuracy_floor"]
    columns = []
    for o in objectives:
        values = frame[o].to_numpy(float)
        columns.append((values - floor) / (1 - floor) if o == "accuracy" else values / score["budgets"][o])
    out = np.column_stack(columns) if columns else np.empty((len(frame), 0))
    out[~frame["feasible"].to_numpy(bool)] = np.nan
    return out


def hypervolume_curve(frame: pd.DataFrame, score: dict, objectives) -> np.ndarray:
    """Normalised hypervolume of the feasible front after each trial, in trial order."""
    values = normalised(frame, score, objectives)
    ref = [0.0 if o == "accuracy" else 1.0 for o in objectives]
    return np.array([hypervolume(values[: i + 1], senses(objectives), ref) for i in range(len(frame))])


def best_and_hypervolume(frame: pd.DataFrame, score: dict, objectives) -> tuple[float | None, float]:
    """The best feasible score (None: nothing feasible yet) and the normalised hypervolume of
    the trials in ``frame``."""
    frame = scored(frame, score)
    feasible = frame.loc[frame["feasible"], "score"]
    values = normalised(frame, score, objectives)
    ref = [0.0 if o == "accuracy" else 1.0 for o in objectives]
    volume = hypervolume(values, senses(objectives), ref) if len(frame) else 0.0
    return (float(feasible.max()) if len(feasible) else None), float(volume)


# -- the summary files ----------------------------------------------------------------------


def study_frame(results_files, score: dict, budget: int | None = None) -> pd.DataFrame:
    """Every trial of a study, scored, with its place on the front; a design whose C
    simulation disagreed with its emulated accuracy (checked once it reached the front) is
    failed with that reason."""
    frame = read_results(results_files)
    if budget is not None:
        frame = frame[frame["trial"] < budget].reset_index(drop=True)
    evaluators = frame["evaluator"] if "evaluator" in frame else pd.Series(CSIM, index=frame.index)  # before the emulator: C simulation
    checks = [csim_check(final_design(parse_design_path(path))) or {} if evaluator == EMULATOR else {}
              for path, evaluator in zip(frame["design"], evaluators)]  # fmt: skip
    disagreed = np.array([check.get("status") == "failed" for check in checks], dtype=bool)
    frame.loc[disagreed, "status"] = "failed"
    frame.loc[disagreed, "reason"] = [check["reason"] for check, bad in zip(checks, disagreed) if bad]
    frame["csim_checked"] = [bool(check.get("checked")) or evaluator == CSIM for check, evaluator in zip(checks, evaluators)]
    frame = scored(frame, score)
    frame["pareto"] = front_mask(frame)
    return frame


def unchecked_front(frame: pd.DataFrame) -> list[str]:
    """The hls stages of the front's designs whose accuracy the emulator computed: the C
    simulation checks them."""
    rows = frame[frame["pareto"] & (frame.get("evaluator", pd.Series(index=frame.index, dtype=object)) == EMULATOR)]
    return [final_design(parse_design_path(path)).hls_path for path in rows["design"]]


def summarise(results_files, out: dict, score: dict, hv_objectives, budget: int | None = None, title: str = "") -> pd.DataFrame:
    """trials.csv, pareto.csv, hypervolume.json and the plots from the round results."""
    frame = study_frame(results_files, score, budget)
    frame["pareto"] = front_mask(frame)
    frame["hypervolume"] = hypervolume_curve(frame, score, hv_objectives)
    write_csv(out["trials"], frame)
    write_csv(out["pareto"], frame[frame["pareto"]].sort_values("accuracy", ascending=False))
    best = frame[frame["feasible"]].sort_values("score", ascending=False).head(1)
    summary = {
        "trials": int(len(frame)),
        "ok": int(frame["feasible"].sum()),
        "infeasible": int((frame["status"] == "infeasible").sum()),
        "failed": int((frame["status"] == "failed").sum()),
        "pareto": int(frame["pareto"].sum()),
        "hypervolume": float(frame["hypervolume"].iloc[-1]) if len(frame) else 0.0,
        "hypervolume_objectives": list(hv_objectives),
        "reference_point": reference_point(score, hv_objectives),
        "normalisation": "accuracy -> (accuracy - floor) / (1 - floor); resource -> use / budget; reference (0, 1, ..., 1)",
        "best_score": float(best["score"].iloc[0]) if len(best) else None,
        "best_design": best["design"].iloc[0] if len(best) else None,
        "score": score,
    }
    write_json(out["hypervolume"], summary)
    plot_fronts(frame, out["fronts"], title)
    plot_progress(frame, out["progress"], summary, title)
    return frame


def plot_fronts(frame: pd.DataFrame, path, title: str = "") -> None:
    """Accuracy against DSP, LUT and latency: every trial, and each 2-D front."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(FRONT_PLOTS), figsize=(5 * len(FRONT_PLOTS), 4.2), constrained_layout=True)
    ok, bad = frame[frame["feasible"]], frame[frame["status"] == "infeasible"]
    for ax, cost in zip(np.atleast_1d(axes), FRONT_PLOTS):
        ax.scatter(ok[cost], ok["accuracy"], s=22, c="C0", label="feasible")
        ax.scatter(bad[cost], bad["accuracy"], s=22, c="0.6", marker="x", label="infeasible")
        error_bars(ax, frame[frame["status"] != "failed"], cost)
        if len(ok):
            best = ok[non_dominated(ok[["accuracy", cost]].to_numpy(float), ["max", "min"])].sort_values(cost)
            ax.step(best[cost], best["accuracy"], "o-", where="post", color="C3", ms=6, label="2-D front")
            ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 4))
            symlog_if_wide(ax, ok[cost])
        source = frame.get("resource_source", pd.Series(dtype=object)).dropna()
        ax.set_xlabel(f"{cost}" + (f" ({source.iloc[0]})" if len(source) else ""))
        ax.set_ylabel("accuracy (bit-accurate hls4ml)")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(loc="lower right", fontsize=8)
    failed = int((frame["status"] == "failed").sum())
    fig.suptitle(f"{title}: {len(frame)} trials, {len(ok)} feasible, {len(bad)} infeasible, {failed} failed")
    save(fig, path, dpi=120)


def plot_progress(frame: pd.DataFrame, path, summary: dict, title: str = "") -> None:
    """Hypervolume and best score against the number of trials."""
    plt = pyplot()
    fig, (hv_ax, score_ax) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    x = np.arange(1, len(frame) + 1)
    hv_ax.plot(x, frame["hypervolume"], drawstyle="steps-post", marker=".", color="C3")
    ref = ", ".join(f"{k} {v:g}" for k, v in summary["reference_point"].items())
    hv_ax.set_title(f"hypervolume ({', '.join(summary['hypervolume_objectives'])})\nreference: {ref}", fontsize=9)
    hv_ax.set_xlabel("trials")
    hv_ax.set_ylabel("normalised hypervolume")
    best = frame["score"].where(frame["feasible"]).cummax().ffill()
    score_ax.plot(x, best, drawstyle="steps-post", marker=".", color="C0")
    score_ax.set_title("best feasible score", fontsize=9)
    score_ax.set_xlabel("trials")
    for ax in (hv_ax, score_ax):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if "round" in frame and frame["round"].nunique() > 1:
            for start in frame.groupby("round")["trial"].min().iloc[1:]:
                ax.axvline(start + 0.5, color="0.85", lw=0.8, zorder=0)
    fig.suptitle(title)
    save(fig, path, dpi=120)
