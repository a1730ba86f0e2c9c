"""The control stages of a flow (see :mod:`hlsnake.flows`): reduce keeps the best branch
of a fork, branch is bottom-up feedback (a predicate on a finished design triggers an
action upstream). Both decide on the validation split (:func:`hlsnake.results.decision_values`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from . import expressions
from .artifacts import MODEL_FILE, REDUCE_TABLE, read_metrics, write_metrics
from .designs import parse_design_path
from .failures import DesignFailed
from .fileio import atomic_path, read_json, write_csv, write_json
from .joblog import log
from .results import REALISED, decision_values, design_row
from .vocabulary import BRANCH_RECORD


def reduce(branch_paths: list[str], objective: str, out_dir) -> dict:
    """Keep the branch of a fork with the highest ``objective``: its model becomes this
    stage's model; ``reduce.csv`` lists every branch with its objective value."""
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
    metrics = read_metrics(chosen.model_path)
    metrics["stage"] = "reduce"
    metrics["params"] = {"chosen": chosen.label, **{k: rows[best][k] for k in REALISED if k in rows[best]}}
    metrics["reduce"] = {"objective": objective, "chosen": chosen.path, "values": dict(zip(branch_paths, values))}
    write_metrics(out_dir, metrics)
    log(f"reduce: {out_dir}: kept {chosen.label} ({objective} = {values[best]:.4f} on the validation split) of {len(rows)} branches")
    return metrics


def branch_check(iteration: int, design_path: str, when: str, out_path) -> dict:
    """Evaluate the branch predicate on one iteration's finished design."""
    row = design_row(parse_design_path(design_path))
    record = {"iteration": iteration, "design": design_path, "when": when}
    if row["status"] != "ok":  # a failed iteration ends the branch (its reason is kept)
        record.update(fired=False, status="failed", reason=row["reason"])
    else:
        record.update(fired=expressions.predicate(when, decision_values(row), "branch.when"), status="ok")
        record.update({k: row[k] for k in BRANCH_RECORD})
    fired = record["fired"]
    write_json(out_path, record)
    log(f"branch: iteration {iteration}: {when} is {fired} for {design_path}")
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
    log(f"branch: {out_path}: final design {last['design']} ({reason})")
    return final
