"""The bit-accurate accuracy of every design by hls4ml's C simulation (g++ per design) and
by the emulator, on the same designs, in one run on one machine.

Runs the default flow (config/config.yaml) and the reference flow (config/reference_flow.yaml),
each from scratch twice: with ``hls.evaluate: csim`` (every design compiled, as before the
emulator) and with ``hls.evaluate: emulate`` (the default: the emulator, and the C simulation
only for the designs on the summary's front). Prints, per design, the hls stage's time (in
the job, and the job's wall time from Snakemake's records) and the time its accuracy took,
then each flow's wall time; writes them to ``<workdir>/fast_evaluation.{csv,md}``.

    python3 benchmarks/fast_evaluation.py --cores 2 [--flows default reference] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import base64
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tables import markdown  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FLOWS = {"default": REPO / "config" / "config.yaml", "reference": REPO / "config" / "reference_flow.yaml"}
EVALUATORS = ("csim", "emulate")


def run(workdir: Path, config: dict, cores: int) -> float:
    """The flow from scratch in ``workdir``; returns its wall time in seconds."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
    cmd = [exe, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), "--cores", str(cores),
           "--configfile", str(workdir / "config.yaml")]  # fmt: skip
    start = time.time()
    with open(workdir / "run.log", "w") as log:
        proc = subprocess.run(cmd, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONHASHSEED": "0"})
    if proc.returncode:
        sys.exit(f"snakemake failed ({proc.returncode}); see {workdir / 'run.log'}")
    return time.time() - start


def job_wall_seconds(workdir: Path) -> dict[str, float]:
    """Each output's job wall time (Snakemake's records: start to end of the job's process)."""
    out = {}
    for path in (workdir / ".snakemake" / "metadata").iterdir():
        record = json.loads(path.read_text())
        if record.get("starttime") and record.get("endtime"):
            out[base64.b64decode(path.name).decode()] = record["endtime"] - record["starttime"]
    return out


def hls_stages(workdir: Path) -> pd.DataFrame:
    """One row per hls stage: its label, evaluator, and times."""
    walls = job_wall_seconds(workdir)
    rows = []
    for metrics_path in sorted((workdir / "results").rglob("hls_rf*/metrics.json")):
        metrics = json.loads(metrics_path.read_text())
        if metrics.get("status") == "failed":
            continue
        relative = str(metrics_path.relative_to(workdir))
        rows.append({
            "hls stage": relative.split("/train/", 1)[1].rsplit("/", 1)[0],
            "evaluator": metrics.get("evaluator", "csim"),
            "accuracy": metrics["accuracy"],
            "val_accuracy": metrics["val_accuracy"],
            "accuracy seconds": metrics.get("evaluation_seconds"),
            "compile seconds": metrics.get("compile_seconds"),
            "stage seconds": metrics["seconds"],
            "job wall seconds": walls.get(relative),
        })  # fmt: skip
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--flows", nargs="+", choices=list(FLOWS), default=list(FLOWS))
    parser.add_argument("--workdir", type=Path, default=None, help="keep the runs here (default: a temporary directory)")
    args = parser.parse_args()
    base = args.workdir or Path(tempfile.mkdtemp(prefix="hlsnake-fast-evaluation-"))
    tables, walls = [], []
    for flow in args.flows:
        config = yaml.safe_load(FLOWS[flow].read_text())
        stages = {}
        for evaluator in EVALUATORS:
            config["hls"] = {**config.get("hls", {}), "evaluate": evaluator}
            wall = run(base / flow / evaluator, config, args.cores)
            walls.append({"flow": flow, "evaluate": evaluator, "wall seconds": round(wall, 1)})
            stages[evaluator] = hls_stages(base / flow / evaluator)
            print(f"{flow} flow, hls.evaluate: {evaluator}: {wall:.1f} s wall time", flush=True)
        both = stages["csim"].merge(stages["emulate"], on="hls stage", suffixes=(" (csim)", " (emulate)"))
        both.insert(0, "flow", flow)
        tables.append(both)
    table = pd.concat(tables, ignore_index=True)
    same = (table["accuracy (csim)"] == table["accuracy (emulate)"]) & (table["val_accuracy (csim)"] == table["val_accuracy (emulate)"])
    columns = ["flow", "hls stage", "evaluator (emulate)", "accuracy seconds (csim)", "accuracy seconds (emulate)",
               "stage seconds (csim)", "stage seconds (emulate)", "job wall seconds (csim)", "job wall seconds (emulate)"]  # fmt: skip
    pd.set_option("display.width", 250)
    print("\nper hls stage (seconds; 'accuracy' = the test and validation accuracy, compile included for csim):")
    print(table[columns].round(2).to_string(index=False))
    print(f"\nsame accuracy (test and validation) by both evaluators on {int(same.sum())} of {len(table)} designs")
    summary = table.groupby("flow")[["stage seconds (csim)", "stage seconds (emulate)", "job wall seconds (csim)",
                                     "job wall seconds (emulate)", "accuracy seconds (emulate)"]].median().round(2)  # fmt: skip
    print("\nmedian per design:\n" + summary.to_string())
    print("\n" + pd.DataFrame(walls).to_string(index=False))
    table.to_csv(base / "fast_evaluation.csv", index=False)
    (base / "fast_evaluation.md").write_text("\n".join(markdown(t) for t in (table[columns], summary, pd.DataFrame(walls))))
    print(f"\nruns and tables in {base}")


if __name__ == "__main__":
    main()
