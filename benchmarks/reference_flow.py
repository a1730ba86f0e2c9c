"""Baseline vs the reference MetaML flow (scale -> prune -> quantize -> hls under the
reference tolerances), per model, the way the reference papers report it.

    python3 benchmarks/reference_flow.py                     # digits MLP, CNN and residual CNN (a model file)
    python3 benchmarks/reference_flow.py --jets data/jets.parquet
    python3 benchmarks/reference_flow.py --seeds 1 2 3         # mean and spread over seeds

Runs the real workflow for each model config (cached: a rerun only reads the results),
then writes results/benchmarks/reference_flow.{csv,md}: accuracy (bit-accurate hls4ml,
test split), DSP, LUT, FF, BRAM, latency of the baseline and of the optimised design,
the reductions in %, and the wall time of the flow. The resource figures come from the
configured synthesis backend (the `source` column says which).

With several seeds (each seed gives another data split and other initial weights) it
also writes reference_flow_seeds.{csv,md}: per model and design, the mean and standard
deviation over the seeds. On digits a test split holds 360 samples, so one seed's
accuracy loss is only known to about a point (a binomial standard error of ~0.9 pt at
97%); the mean over seeds is the figure to compare with a one-point budget.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
MODELS = {
    "digits_mlp": REPO / "config" / "reference_flow.yaml",
    "digits_cnn": REPO / "config" / "digits_cnn.yaml",
    "jets_mlp": REPO / "config" / "jets_mlp.yaml",
    "digits_residual_cnn": REPO / "config" / "residual_cnn.yaml",
}
# models that are a user's file (model.type: keras): the example script that writes it
MODEL_FILES = {"digits_residual_cnn": REPO / "config" / "examples" / "make_residual_cnn.py"}
METRICS = ("accuracy", "DSP", "LUT", "FF", "BRAM_18K", "latency_cycles")
REFERENCE = "MetaML-Pro (TRETS 2025): up to 92% fewer DSPs and 89% fewer LUTs at preserved accuracy"


# Besides the reference tolerances, the same flow with tighter ones: every tolerance at
# half a point, and at zero (no loss at all on the validation split, which decides).
TIGHT_FLOWS = [
    [{task: {"tolerance": tolerance}} for task in ("scale", "prune", "quantize")] + ["hls"] for tolerance in (0.005, 0.0)
]


def run_model(
    name: str, config_path: Path, out: Path, cores: int, extra: dict, seed: int | None = None, tight: bool = True
) -> tuple[pd.DataFrame, float]:
    config = yaml.safe_load(config_path.read_text())
    if seed is not None:
        config["seed"] = seed
    run_name = name if seed is None else f"{name}_seed{seed}"
    config["results"] = f"results/benchmarks/{run_name}"
    config.setdefault("designs", {})["flows"] = TIGHT_FLOWS if tight else []
    for key, value in extra.items():
        config.setdefault(key, {}).update(value)
    if name in MODEL_FILES:  # written once (nothing generated is committed); pretrained: false re-initialises it per seed
        config["model"]["path"] = str(out / "models" / f"{name}.h5")
        if not Path(config["model"]["path"]).is_file():
            subprocess.run([sys.executable, str(MODEL_FILES[name]), config["model"]["path"]], check=True, cwd=REPO)
    config_file = out / f"{run_name}.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--cores", str(cores),
           "--configfile", str(config_file)]  # fmt: skip
    print(f"[{run_name}] {' '.join(cmd)}", flush=True)
    start = time.time()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    seconds = time.time() - start
    (out / f"{run_name}.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"[{run_name}] the workflow failed; see {out / (run_name + '.log')}")
    summary = pd.read_csv(REPO / config["results"] / config["dataset"]["name"] / config["model"]["name"] / "summary.csv")
    return summary, seconds


def compare(name: str, summary: pd.DataFrame, seconds: float) -> list[dict]:
    baseline = summary[summary["label"] == "float"].iloc[0]
    return [_compare_one(name, baseline, optimised, seconds) for _, optimised in summary[summary["label"] != "float"].iterrows()]


def _compare_one(name: str, baseline, optimised, seconds: float) -> dict:
    row = {"model": name, "optimised_design": optimised["label"], "source": optimised["source"]}
    for metric in METRICS:
        row[f"baseline_{metric}"] = baseline[metric]
        row[f"optimised_{metric}"] = optimised[metric]
    row["accuracy_loss_points"] = 100 * (baseline["accuracy"] - optimised["accuracy"])
    for metric in METRICS[1:]:
        base = float(baseline[metric])
        row[f"{metric}_reduction_pct"] = 100 * (base - float(optimised[metric])) / base if base else float("nan")
    for knob in ("width_factor", "hidden", "sparsity", "weight_bits", "activation_bits"):
        if knob in optimised and pd.notna(optimised[knob]):
            row[knob] = optimised[knob]
    row["wall_seconds"] = round(seconds, 1)  # the whole workflow run of this model (all its flows)
    return row


def markdown(table: pd.DataFrame) -> str:
    lines = [
        "| model | design | accuracy (base → opt) | DSP (base → opt, red.) | LUT (base → opt, red.) | FF red. | latency (cycles) | source | wall time |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in table.to_dict("records"):
        model = r["model"] if pd.isna(r.get("seed")) else f"{r['model']} (seed {int(r['seed'])})"
        lines.append(
            f"| {model} | {r['optimised_design']} | {r['baseline_accuracy']:.4f} → {r['optimised_accuracy']:.4f} "
            f"({r['accuracy_loss_points']:+.2f} pt loss) | {r['baseline_DSP']} → {r['optimised_DSP']} ({r['DSP_reduction_pct']:.1f}%) | "
            f"{r['baseline_LUT']} → {r['optimised_LUT']} ({r['LUT_reduction_pct']:.1f}%) | {r['FF_reduction_pct']:.1f}% | "
            f"{r['baseline_latency_cycles']} → {r['optimised_latency_cycles']} | {r['source']} | {r['wall_seconds']:.0f} s |"
        )
    lines += ["", f"Reference: {REFERENCE}."]
    return "\n".join(lines) + "\n"


def over_seeds(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over the seeds, per model and optimised design."""
    figures = ["accuracy_loss_points", "DSP_reduction_pct", "LUT_reduction_pct", "FF_reduction_pct", "wall_seconds"]
    grouped = table.groupby(["model", "optimised_design", "source"], sort=False)[figures]
    stats = grouped.agg(["mean", "std"])
    stats.columns = [f"{figure}_{stat}" for figure, stat in stats.columns]
    stats.insert(0, "seeds", grouped.size())
    return stats.reset_index()


def markdown_over_seeds(stats: pd.DataFrame) -> str:
    lines = [
        "| model | design | seeds | accuracy loss (pt) | DSP red. | LUT red. | FF red. | wall time per run | source |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def cell(r, figure, unit):
        return f"{r[figure + '_mean']:.2f} ± {r[figure + '_std']:.2f}{unit}"

    for r in stats.to_dict("records"):
        lines.append(
            f"| {r['model']} | {r['optimised_design']} | {r['seeds']} | {cell(r, 'accuracy_loss_points', '')} | "
            f"{cell(r, 'DSP_reduction_pct', '%')} | {cell(r, 'LUT_reduction_pct', '%')} | {cell(r, 'FF_reduction_pct', '%')} | "
            f"{r['wall_seconds_mean']:.0f} s | {r['source']} |"
        )
    lines += ["", "Mean ± sample standard deviation over the seeds (each seed: another split and initialisation).",
              f"Reference: {REFERENCE}."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["digits_mlp", "digits_cnn", "digits_residual_cnn"], choices=sorted(MODELS))
    parser.add_argument("--jets", type=Path, help="local hls4ml_lhc_jets_hlf CSV/Parquet: adds the jets MLP")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--synth-backend", default="estimate")
    parser.add_argument("--seeds", type=int, nargs="+", help="run every model once per seed (default: the config's seed)")
    parser.add_argument("--reference-only", action="store_true", help="only the reference tolerances (not the tighter flows)")
    args = parser.parse_args()
    models = list(args.models)
    extra = {"synth": {"backend": args.synth_backend}}
    if args.jets:
        models.append("jets_mlp")
    out = REPO / "results" / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in dict.fromkeys(models):
        model_extra = dict(extra)
        if name == "jets_mlp":
            if not args.jets:
                print("[jets_mlp] skipped: no --jets file (the jet data needs internet or a local copy)")
                continue
            model_extra["dataset"] = {"path": str(args.jets.resolve())}
        for seed in args.seeds or [None]:
            summary, seconds = run_model(name, MODELS[name], out, args.cores, model_extra, seed, tight=not args.reference_only)
            rows.extend({**row, "seed": seed} for row in compare(name, summary, seconds))
    table = pd.DataFrame(rows)
    table.to_csv(out / "reference_flow.csv", index=False)
    (out / "reference_flow.md").write_text(markdown(table))
    print(markdown(table))
    if args.seeds and len(args.seeds) > 1:
        stats = over_seeds(table)
        stats.to_csv(out / "reference_flow_seeds.csv", index=False)
        (out / "reference_flow_seeds.md").write_text(markdown_over_seeds(stats))
        print(markdown_over_seeds(stats))


if __name__ == "__main__":
    main()
