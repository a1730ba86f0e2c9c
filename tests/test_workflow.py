"""The real workflow on a tiny config: results, caching, and fast failure on bad input."""

import re

import pandas as pd
import pytest

from conftest import run_workflow, tiny_config

pytestmark = pytest.mark.workflow

GRID = {"baseline": False, "grid": {"sparsity": [0.0, 0.75], "weight_bits": [4, 16], "reuse_factor": [1]}}


def job_counts(proc) -> dict:
    """The 'Job stats' table of a Snakemake run (on stderr) or dry run (on stdout)."""
    counts = {}
    output = proc.stdout + proc.stderr
    table = output.split("Job stats:")[-1] if "Job stats:" in output else ""
    for line in table.splitlines():
        match = re.fullmatch(r"(\w+)\s+(\d+)", line.strip())
        if match and match[1] != "total":
            counts[match[1]] = int(match[2])
    return counts


def front_by_hand(summary) -> list[bool]:
    """Whether each row is on the summary's front, by brute force over every pair of rows:
    a row is off it when another is at least as accurate with at most as many DSPs and
    LUTs, and better in one of them."""
    rows = list(zip(summary["accuracy"], summary["DSP"], summary["LUT"]))

    def dominates(a, b):
        return a[0] >= b[0] and a[1] <= b[1] and a[2] <= b[2] and a != b

    return [not any(dominates(other, row) for other in rows) for row in rows]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("flow")
    run_workflow(workdir, tiny_config(designs=GRID))
    return workdir


def test_summary_has_one_row_per_design_with_accuracy_and_cost(finished):
    summary = pd.read_csv(finished / "results/digits/mlp/summary.csv")
    assert len(summary) == 4
    assert (summary["accuracy"] > 0.5).all()  # chance is 0.10
    assert (abs(summary["accuracy"] - summary["keras_accuracy"]) <= 0.02).all()  # hls4ml vs QKeras
    assert summary["source"].str.startswith("estimate").all()
    assert summary["pareto"].tolist() == front_by_hand(summary)
    assert (finished / "results/digits/mlp/summary.png").stat().st_size > 10_000


def test_cost_falls_with_sparsity_and_with_bit_width(finished):
    summary = pd.read_csv(finished / "results/digits/mlp/summary.csv").fillna({"sparsity": 0.0})
    dsp = {(row.sparsity, int(row.weight_bits)): row.DSP for row in summary.itertuples()}
    lut = {(row.sparsity, int(row.weight_bits)): row.LUT for row in summary.itertuples()}
    # the calibrated estimator puts 16-bit constant products on DSPs and narrow ones in LUTs
    assert dsp[(0.75, 16)] < dsp[(0.0, 16)]
    assert dsp[(0.0, 4)] < dsp[(0.0, 16)]
    # (4-bit designs have only the softmax's DSPs, pruned or not: their logic shrinks)
    assert lut[(0.75, 4)] < lut[(0.0, 4)] and lut[(0.75, 16)] < lut[(0.0, 16)]


def test_second_run_does_nothing(finished):
    proc = run_workflow(finished, tiny_config(designs=GRID))
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_new_design_computes_only_its_new_stages(finished):
    bigger = {**GRID, "grid": {**GRID["grid"], "weight_bits": [4, 6, 16]}}
    proc = run_workflow(finished, tiny_config(designs=bigger), "--dry-run")
    counts = job_counts(proc)
    assert counts.get("model_step") == 2 and counts.get("hls_convert") == 2 and counts.get("csynth") == 2  # two quantize steps
    assert "train" not in counts and "prepare_data" not in counts


def test_bad_config_fails_before_any_work(tmp_path):
    config = tiny_config(designs={"baseline": False, "grid": {"sparsity": [1.5], "weight_bits": [6], "reuse_factor": [1]}})
    proc = run_workflow(tmp_path, config, check=False)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "designs.grid.sparsity[0]" in output
    assert "Traceback" not in output
    assert not (tmp_path / "results").exists()
