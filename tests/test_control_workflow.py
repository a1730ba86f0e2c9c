"""Flows with shared prefixes, fork/reduce and branch, through the real workflow: a
reduce whose branches all failed, a branch whose iteration failed, and a branch that
tightens a tolerance, all in the same run."""

import hashlib
import json
import re

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
# Design failures of their own (the scale steps train with an absurd learning rate: the
# loss becomes NaN in the first epoch): a fork whose every branch fails, so its reduce has
# nothing to keep; and a branch whose iteration 0 is the first of those failed designs.
FAILING_FORK = [
    {"fork": [[{"scale": {"width_factor": 0.5}}], [{"scale": {"width_factor": 0.75}}]]},
    {"reduce": {"objective": "accuracy"}},
]
FAILING_BRANCH = [{"scale": {"width_factor": 0.5}}, {"branch": {"when": "DSP >= 0", "then": "raise_reuse"}}]
# tighten: under a 0.5 tolerance automatic quantisation goes down to 2 bits and loses much
# accuracy (the predicate fires); under 0.5 x 0.2 it must keep 3 bits (the predicate is false)
TIGHTEN = [
    {"quantize": {"tolerance": 0.5}},
    {"branch": {"when": "accuracy < 0.8", "then": "tighten", "task": "quantize", "factor": 0.2, "max_iterations": 1}},
]
FLOWS += [FAILING_FORK, FAILING_BRANCH, TIGHTEN]
DIVERGING_LR = 1e30
DIVERGED = "TrainingDiverged: training diverged: loss became nan"


def _config():
    return tiny_config(
        prune={"epochs": 3, "min_step": 0.1},
        scale={"epochs": 2, "learning_rate": DIVERGING_LR},
        quantize={"min_bits": 2, "max_bits": 3, "per_layer": False},  # (the fixed quantize steps do not read these)
        designs={"baseline": False, "grid": None, "flows": FLOWS},
    )


def _plan():
    from hlsnake.config import validate
    from hlsnake.flows import compile_config

    return compile_config(validate(_config()))


def _branch(when: str):
    """The branch node of the flow whose predicate is ``when``."""
    (node,) = [node for node in _plan().branches.values() if node.when == when]
    return node


def _reduce(objective: str):
    """The reduce node whose objective is ``objective``."""
    (node,) = [node for node in _plan().reduces.values() if node.objective == objective]
    return node


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("control")
    dry = run_workflow(workdir, _config(), "--dry-run")
    run_workflow(workdir, _config())
    automatic = re.findall(r"^rule model_step_auto:\n(?:    .*\n)*?    output: (.*)", dry.stdout, flags=re.M)
    return workdir, {**job_counts(dry), "automatic": automatic}


def test_flows_sharing_a_prefix_compute_it_once(finished):
    _, counts = finished
    pruning = [outputs for outputs in counts["automatic"] if "/prune_a" in outputs]
    assert len(pruning) == 1  # two flows start with the same automatic pruning
    assert counts["train"] == 1 and counts["prepare_data"] == 1


def test_reduce_keeps_the_branch_with_the_best_objective(finished):
    workdir, _ = finished
    reduce_dir = workdir / _reduce("accuracy - LUT / 100000").path
    table = pd.read_csv(reduce_dir / "reduce.csv")

    def objective(design: str) -> float:  # from the branch's own records, on the validation split
        synth = workdir / design
        hls_metrics = json.loads((synth.parent / "metrics.json").read_text())
        return hls_metrics["val_accuracy"] - json.loads((synth / "resources.json").read_text())["LUT"] / 100000

    expected = [objective(design) for design in table["design"]]
    assert table["objective"].tolist() == pytest.approx(expected)
    chosen = table[table["chosen"]]
    assert len(chosen) == 1 and chosen["design"].item() == table["design"][expected.index(max(expected))]
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


def _summary_row(workdir, design_path: str) -> dict:
    summary = pd.read_csv(workdir / "results/digits/mlp/summary.csv")
    (row,) = summary[summary["design"] == design_path].to_dict("records")
    return row


def _record(path) -> dict:
    return json.loads(path.read_text())


def test_a_reduce_whose_branches_all_failed_fails_and_passes_it_on(finished):
    workdir, _ = finished
    node = _reduce("accuracy")
    reduce_dir = workdir / node.path
    scales = [branch.model_path.rsplit("/", 1)[1] for branch in node.branches]
    assert scales == ["scale_f0.500", "scale_f0.750"]
    for branch in node.branches:  # each branch failed on its own: training diverged
        record = _record(workdir / branch.model_path / "metrics.json")
        assert record["status"] == "failed" and record["reason"].startswith(DIVERGED), record
    record = _record(reduce_dir / "metrics.json")
    assert record["status"] == "failed" and record["failed_stage"] == reduce_dir.name
    assert record["reason"].startswith("DesignFailed: every branch of the fork failed: ")
    for name in scales:  # each branch named, with its own reason
        assert re.search(rf"{re.escape(name)}: {DIVERGED} at epoch \d+", record["reason"]), record["reason"]
    assert (reduce_dir / "model.h5").stat().st_size == 0 and (reduce_dir / "reduce.csv").stat().st_size == 0
    # the stages below pass the failure on, and the summary has the design as a failed row
    (design,) = [d for d in _plan().designs if d.steps[0].task == "reduce" and d.stage_paths()[1] == node.path]
    hls_record = _record(workdir / design.hls_path / "metrics.json")
    synth_record = _record(workdir / design.path / "resources.json")
    for below in (hls_record, synth_record):
        assert below["status"] == "failed" and below["failed_stage"] == reduce_dir.name and below["reason"] == record["reason"]
    row = _summary_row(workdir, design.path)
    assert row["status"] == "failed" and row["reason"] == f"{reduce_dir.name}: {record['reason']}"
    assert not row["pareto"] and pd.isna(row["accuracy"])


def test_a_failed_branch_iteration_ends_the_branch(finished):
    workdir, _ = finished
    node = _branch("DSP >= 0")
    first = node.iteration(0)
    assert first.model_path.endswith("/scale_f0.500")  # the fork's first branch: a design that failed
    final = _record(workdir / node.path / "final.json")
    (check,) = final["iterations"]  # the predicate would fire (DSP >= 0), but the design failed
    assert check["status"] == "failed" and not check["fired"] and check["design"] == first.path
    assert check["reason"].startswith(f"scale_f0.500: {DIVERGED}")
    assert final["design"] == first.path and final["stopped"] == f"iteration 0 failed: {check['reason']}"
    assert not (workdir / node.path / "iter1.json").exists()
    assert not (workdir / node.iteration(1).hls_path).exists()  # no reuse factor raised on a failed design
    row = _summary_row(workdir, node.path)
    assert row["status"] == "failed" and row["reason"] == check["reason"] and not row["pareto"]


def test_a_branch_ends_with_a_later_iteration_that_failed(finished, tmp_path):
    """Iteration 1 fails after iteration 0 fired: the branch ends there, on the failed
    design (its own stages' failure records, from the run), with the reason."""
    from hlsnake import control

    workdir, _ = finished
    fired = workdir / _branch("DSP > 0").iteration(0).path  # a finished design
    failed = workdir / _branch("DSP >= 0").iteration(0).path  # its scale step diverged
    files = [tmp_path / "iter0.json", tmp_path / "iter1.json"]
    assert control.branch_check(0, str(fired), "DSP > 0", files[0])["fired"]
    assert control.branch_check(1, str(failed), "DSP > 0", files[1])["status"] == "failed"
    final = control.branch_final(files, 3, tmp_path / "final.json")
    assert [(it["iteration"], it["fired"]) for it in final["iterations"]] == [(0, True), (1, False)]
    assert final["design"] == str(failed)
    assert re.fullmatch(rf"iteration 1 failed: scale_f0\.500: {DIVERGED} at epoch \d+", final["stopped"]), final["stopped"]


def test_tighten_rebuilds_under_the_tighter_tolerance_until_the_predicate_is_false(finished):
    workdir, _ = finished
    node = _branch("accuracy < 0.8")
    final = _record(workdir / node.path / "final.json")
    assert [(it["iteration"], it["fired"]) for it in final["iterations"]] == [(0, True), (1, False)]
    assert final["stopped"] == "predicate false" and final["design"] == node.iteration(1).path
    stages = [workdir / node.iteration(k).model_path for k in (0, 1)]
    assert [stage.name for stage in stages] == ["quant_a0.5000", "quant_a0.1000"]  # tolerance x 0.2
    loose, tight = (_record(stage / "metrics.json") for stage in stages)
    assert (loose["tolerance"], tight["tolerance"]) == (0.5, 0.1)
    assert loose["params"]["weight_bits"] == [2, 2] and tight["params"]["weight_bits"] == [3, 3]
    candidates = [pd.read_csv(stage / "candidates.csv") for stage in stages]
    assert candidates[1]["tolerance"].eq(0.1).all()
    two_bits = [frame[frame["weight_bits"] == "2-2"].iloc[0] for frame in candidates]
    assert two_bits[0]["accepted"] and two_bits[0]["drop"] > 0.1  # 2 bits pass 0.5, but would not pass 0.1
    assert not two_bits[1]["accepted"] and two_bits[1]["drop"] > 0.1  # rebuilt, and rejected under 0.1
    checks = final["iterations"]
    assert checks[0]["val_accuracy"] < 0.8 <= checks[1]["val_accuracy"]  # tightening raised the accuracy
    row = _summary_row(workdir, node.path)
    assert row["final_design"] == node.iteration(1).path and row["weight_bits"] == "3-3"
    assert row["quantize_tolerance"] == 0.1 and row["status"] == "ok" and row["within_tolerance"]
