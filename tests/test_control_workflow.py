"""Flows with shared prefixes, fork/reduce and branch, through the real workflow."""

import hashlib
import json

import pandas as pd
import pytest

from conftest import run_workflow, tiny_config
from test_workflow import job_counts

pytestmark = pytest.mark.workflow

FLOWS = [
    [{"prune": {"tolerance": 0.03}}, {"quantize": {"weight_bits": 6}}],
    [{"prune": {"tolerance": 0.03}}, {"quantize": {"weight_bits": 4}}],
    [{"fork": [[{"prune": {"sparsity": 0.5}}], [{"quantize": {"weight_bits": 4}}]]}, {"reduce": {"objective": "accuracy - LUT / 100000"}}],
    [{"quantize": {"weight_bits": 8}}, {"branch": {"when": "DSP > 0", "then": "raise_reuse", "factor": 2, "max_iterations": 2}}],
    [{"quantize": {"weight_bits": 6}}, {"branch": {"when": "LUT > 100000000", "then": "raise_reuse"}}],
]


def _config():
    return tiny_config(prune={"epochs": 3, "min_step": 0.1}, designs={"baseline": False, "grid": None, "flows": FLOWS})


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("control")
    dry = run_workflow(workdir, _config(), "--dry-run")
    run_workflow(workdir, _config())
    return workdir, job_counts(dry)


def test_flows_sharing_a_prefix_compute_it_once(finished):
    _, counts = finished
    assert counts["model_step_auto"] == 1  # two flows start with the same automatic pruning
    assert counts["train"] == 1 and counts["prepare_data"] == 1


def test_reduce_keeps_the_branch_with_the_best_objective(finished):
    workdir, _ = finished
    (reduce_dir,) = (workdir / "results/digits/mlp/train").glob("reduce_*")
    table = pd.read_csv(reduce_dir / "reduce.csv")
    expected = table["val_accuracy"] - table["LUT"] / 100000  # decided on the validation split
    assert table["objective"].round(9).tolist() == expected.round(9).tolist()
    chosen = table[table["chosen"]]
    assert len(chosen) == 1 and chosen["objective"].item() == table["objective"].max()
    chosen_model = workdir / chosen["design"].item().split("/hls_")[0] / "model.h5"
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(reduce_dir / "model.h5") == digest(chosen_model)


def test_branch_fires_until_max_iterations_and_stops_when_false(finished):
    workdir, _ = finished
    finals = {json.loads(p.read_text())["iterations"][0]["when"]: json.loads(p.read_text()) for p in workdir.glob("results/**/branch_*/final.json")}
    firing = finals["DSP > 0"]
    assert [it["fired"] for it in firing["iterations"]] == [True, True, True]
    assert firing["design"].endswith("quant_w8_a8/hls_rf4_latency_parallel/synth_estimate")
    assert "still true after 2" in firing["stopped"]
    quiet = finals["LUT > 100000000"]
    assert len(quiet["iterations"]) == 1 and quiet["stopped"] == "predicate false"


def test_summary_reports_the_final_designs(finished):
    workdir, _ = finished
    summary = pd.read_csv(workdir / "results/digits/mlp/summary.csv")
    assert len(summary) == len(FLOWS)
    pruned = summary[summary["prune_tolerance"] == 0.03]
    assert len(pruned) == 2 and pruned["sparsity"].notna().all()  # the sparsity the task chose
    branch_row = summary[summary["design"].str.contains("quant_w8_a8") & summary["design"].str.contains("branch_")]
    assert branch_row["reuse_factor"].item() == 4


def test_failed_designs_are_rows_and_never_win_a_reduce(finished, tmp_path):
    """A design whose stage failed (a real failure record, as failures.run_stage writes
    it) is a summary row with its reason, and a reduce skips it."""
    import shutil

    from hlsnake import artifacts, report, results, stages
    from hlsnake.designs import parse_design_path

    workdir, _ = finished
    root = tmp_path / "results/digits/mlp/train"
    shutil.copytree(workdir / "results/digits/mlp/train", root, dirs_exist_ok=True)
    ok = parse_design_path(str(root / "prune_s0.50/hls_rf1_latency_parallel/synth_estimate"))
    bad = parse_design_path(str(root / "prune_s0.90/hls_rf1_latency_parallel/synth_estimate"))
    record = {"status": "failed", "stage": "prune_s0.90", "failed_stage": "prune_s0.90", "reason": "TrainingDiverged: training diverged: loss became nan at epoch 1"}
    artifacts.write_failure([root / "prune_s0.90/metrics.json", root / "prune_s0.90/model.h5"], record)
    row = results.design_row(bad)
    assert row["status"] == "failed" and "loss became nan" in row["reason"]
    frame = report.summary_frame([ok, bad])
    assert frame["pareto"].tolist() == [True, False]
    metrics = stages.reduce([bad.path, ok.path], "accuracy", tmp_path / "reduce_test")
    assert metrics["reduce"]["chosen"] == ok.path
