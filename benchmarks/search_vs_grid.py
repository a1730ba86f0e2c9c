"""Bayesian search against grid search on the same space (digits MLP, small space).

Runs `snakemake grid` and `snakemake search` from scratch in two scratch directories
(same config, same rules; each run trains its own baseline) and prints:

* the grid: number of designs, wall time, hypervolume and best score;
* the search: trials and wall time until its hypervolume reaches 98% of the grid's
  (and until its best score reaches 98% of the grid's best score), and the speed-up.

The search's wall time at a trial is when the round holding that trial finished (the
modification time of the round's results.csv), counted from the start of its run.
Wall times depend on the machine's load; the counts of designs and of stage jobs
(train, prune, quantize, hls, synth; shared stages once) do not.

    python benchmarks/search_vs_grid.py --cores 2 --budget 24
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from hlsnake.designs import parse_design_path

REPO = Path(__file__).resolve().parents[1]
ROOT = "results/digits/mlp"
TARGET = 0.98

CONFIG = {
    "results": "results",
    "seed": 1,
    "dataset": {"name": "digits"},
    "model": {"name": "mlp", "type": "mlp", "hidden": [32, 16]},
    "train": {"epochs": 60, "patience": 8},
    "designs": {"baseline": True},
    "search": {
        "startup": 6,
        "space": {
            "sparsity": {"choices": [0.0, 0.5, 0.75, 0.9]},
            "weight_bits": {"low": 3, "high": 8},
            "reuse_factor": {"choices": [1, 4]},
        },
        "score": {
            "accuracy_floor": 0.93,
            "weights": {"DSP": 0.5, "LUT": 0.5, "FF": 0.0, "latency_cycles": 0.0},
            "budgets": {"DSP": 2500, "LUT": 150000, "FF": 200000, "latency_cycles": 50},
        },
        "hypervolume": ["accuracy", "DSP", "LUT"],
    },
}


def run(workdir: Path, target: str, cores: int, config: dict) -> float:
    """Run the target from scratch in ``workdir``; return its start time (kept in ``started``)."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
    cmd = [exe, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), "--cores", str(cores), target,
           "--configfile", str(workdir / "config.yaml")]
    start = time.time()
    (workdir / "started").write_text(f"{start}\n")
    with open(workdir / f"{target}.log", "w") as log:
        proc = subprocess.run(cmd, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode:
        sys.exit(f"snakemake {target} failed ({proc.returncode}); see {workdir / f'{target}.log'}")
    return start


def stages(designs) -> int:
    """Stage jobs (train, prune, quantize, hls, synth) the designs need, shared ones once."""
    return len({stage for d in designs for stage in parse_design_path(d).stage_paths()})


def first_reaching(values: pd.Series, goal: float) -> int | None:
    hits = values.index[values >= goal - 1e-12]
    return int(hits[0]) if len(hits) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--budget", type=int, default=24, help="search trials (the grid has 48 designs)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the runs here (default: a temporary directory)")
    parser.add_argument("--reuse-grid", action="store_true", help="take the grid run already in --workdir")
    args = parser.parse_args()
    base = args.workdir or Path(tempfile.mkdtemp(prefix="hlsnake-bench-"))
    config = json.loads(json.dumps(CONFIG))
    config["search"]["budget"] = args.budget

    if args.reuse_grid:
        grid_start = float((base / "grid" / "started").read_text())
    else:
        grid_start = run(base / "grid", "grid", args.cores, config)
    grid_seconds = (base / "grid" / ROOT / "grid/trials.csv").stat().st_mtime - grid_start
    grid = pd.read_csv(base / "grid" / ROOT / "grid/trials.csv")
    grid_summary = json.loads((base / "grid" / ROOT / "grid/hypervolume.json").read_text())

    search_start = run(base / "search", "search", args.cores, config)
    trials = pd.read_csv(base / "search" / ROOT / "search/trials.csv")
    finished = {r: (base / "search" / ROOT / f"search/round{r}/results.csv").stat().st_mtime - search_start for r in trials["round"].unique()}
    trials["wall_seconds"] = trials["round"].map(finished)
    trials["best_score"] = trials["score"].where(trials["feasible"]).cummax().ffill()

    hv_goal = TARGET * grid_summary["hypervolume"]
    score_goal = TARGET * grid_summary["best_score"] if grid_summary["best_score"] > 0 else grid_summary["best_score"]
    lines = [
        f"space: {len(grid)} designs (sparsity x weight bits x reuse factor), digits MLP 64-32-16-10, {args.cores} cores",
        f"hypervolume objectives {grid_summary['hypervolume_objectives']}, reference point {grid_summary['reference_point']}",
        f"grid:   {len(grid)} designs ({stages(grid['design'])} stage jobs) in {grid_seconds:7.1f} s; "
        f"hypervolume {grid_summary['hypervolume']:.4f}, best score {grid_summary['best_score']:.4f}",
        f"search: {len(trials)} trials in {trials['wall_seconds'].max():7.1f} s; hypervolume {trials['hypervolume'].iloc[-1]:.4f}, "
        f"best score {trials['best_score'].iloc[-1]:.4f}",
    ]
    figures = {"grid_designs": len(grid), "grid_seconds": grid_seconds, "grid_hypervolume": grid_summary["hypervolume"],
               "grid_best_score": grid_summary["best_score"], "search_trials": len(trials)}
    for name, column, goal in (("hypervolume", "hypervolume", hv_goal), ("best score", "best_score", score_goal)):
        at = first_reaching(trials[column].fillna(-float("inf")), goal)
        if at is None:
            lines.append(f"search: did not reach {TARGET:.0%} of the grid's {name} ({goal:.4f}) in {len(trials)} trials")
            continue
        seconds, jobs = trials["wall_seconds"][at], stages(trials["design"][: at + 1])
        lines.append(
            f"search: {TARGET:.0%} of the grid's {name} ({goal:.4f}) after {at + 1} trials ({jobs} stage jobs), {seconds:.1f} s: "
            f"{grid_seconds / seconds:.1f}x less time than the grid, {len(grid) / (at + 1):.1f}x fewer designs, "
            f"{stages(grid['design']) / jobs:.1f}x fewer stage jobs"
        )
        figures[f"{column}_stage_jobs"] = jobs
        figures[f"{column}_trials"] = at + 1
        figures[f"{column}_seconds"] = seconds
        figures[f"{column}_speedup"] = grid_seconds / seconds
    print("\n".join(lines))
    (base / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"runs and figures in {base}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
