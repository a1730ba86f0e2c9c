"""Flows from the config: automatic steps, fork/reduce, branch, and expressions."""

import math

import pytest

from hlsnake import expressions
from hlsnake.config import ConfigError, validate
from hlsnake.flows import compile_config


def test_bare_task_names_run_automatically_with_the_configured_tolerances():
    config = validate({"flow": ["scale", "prune", "quantize", "hls"], "tolerances": {"prune": 0.03}})
    paths = [d.path for d in compile_config(config).designs]
    assert "results/digits/mlp/train/scale_a0.0050/prune_a0.0300/quant_a0.0100/hls_rf1_latency_parallel/synth_estimate" in paths


def test_fork_without_reduce_makes_one_design_per_branch_sharing_the_prefix():
    config = validate({"designs": {"baseline": False, "flows": [[{"prune": {"sparsity": 0.5}}, {"fork": [["quantize"], [{"quantize": {"weight_bits": 4}}]]}]]}})
    designs = compile_config(config).designs
    assert [d.steps[1].dirname for d in designs] == ["quant_a0.0100", "quant_w4_a4"]
    assert {d.stage_paths()[1] for d in designs} == {"results/digits/mlp/train/prune_s0.50"}


def test_reduce_node_lists_its_branches_and_objective():
    flow = [{"fork": [["prune", "quantize"], ["quantize", "prune"]]}, {"reduce": {"objective": "accuracy - DSP / 100"}}, "hls"]
    plan = compile_config(validate({"designs": {"baseline": False, "flows": [flow]}}))
    (design,) = plan.designs
    (node,) = plan.reduces.values()
    assert design.steps[0].task == "reduce" and node.path == design.stage_paths()[1]
    assert [b.label for b in node.branches] == ["prune_a0.0200 quant_a0.0100", "quant_a0.0100 prune_a0.0200"]
    assert all(b.steps[-1].task == "synth" for b in node.branches)


def test_branch_iterations_apply_the_action():
    flow = ["quantize", {"hls": {"reuse_factor": 1}}, {"branch": {"when": "accuracy < 0.9", "then": "tighten", "task": "quantize"}}]
    plan = compile_config(validate({"designs": {"baseline": False, "flows": [flow]}}))
    (node,) = plan.branches.values()
    assert [node.iteration(k).steps[0].dirname for k in range(3)] == ["quant_a0.0100", "quant_a0.0050", "quant_a0.0025"]
    raise_rf = compile_config(validate({"designs": {"baseline": False, "flows": [["quantize", {"branch": {"when": "DSP > 10", "then": "raise_reuse"}}]]}}))
    (node,) = raise_rf.branches.values()
    assert [node.iteration(k).hls_path.rsplit("/", 1)[1] for k in range(3)] == [
        "hls_rf1_latency_parallel", "hls_rf2_latency_parallel", "hls_rf4_latency_parallel"]


@pytest.mark.parametrize(
    "flow, message",
    [
        ([{"reduce": {"objective": "accuracy"}}], "'reduce' must come right after a 'fork'"),
        ([{"branch": {"when": "DSP > 1", "then": "raise_reuse"}}, "prune"], "'branch' must be the last step"),
        (["hls", "prune"], "the hls step must come last"),
        ([{"fork": [["prune", "hls"], ["quantize"]]}, {"reduce": {"objective": "accuracy"}}], "put 'hls' after the reduce"),
        (["prune", {"branch": {"when": "DSP", "then": "raise_reuse"}}], "must be a comparison"),
        ([{"fork": [["prune"], ["quantize"]]}, {"reduce": {"objective": "__import__('os')"}}], "may only use"),
        (["prune", {"branch": {"when": "DSP > 1", "then": "tighten", "task": "scale"}}], "one of the automatic tasks of its flow (prune)"),
    ],
)
def test_bad_flows_are_refused_with_a_reason(flow, message):
    with pytest.raises(ConfigError, match=__import__("re").escape(message)):
        validate({"flow": flow})


def test_expressions_evaluate_only_metrics_and_arithmetic():
    row = {"accuracy": 0.9, "DSP": 50, "LUT": 1000}
    assert expressions.objective("accuracy - 0.5 * DSP / 100", row) == pytest.approx(0.65)
    assert expressions.predicate("DSP > 40 and LUT < 2000", row) is True
    assert expressions.objective("-DSP", row) == -50
    with pytest.raises(expressions.ExpressionError, match="may only use numbers"):
        expressions.objective("os.system('x')", row)
    with pytest.raises(expressions.ExpressionError, match="unknown name 'area'"):
        expressions.objective("area + 1", row)
    with pytest.raises(expressions.ExpressionError, match="join comparisons"):
        expressions.predicate("DSP > 1 and LUT", row)


def test_expressions_are_total_over_real_metrics():
    narrow = {"accuracy": 0.9, "DSP": 0, "LUT": 500, "FF": None}
    assert expressions.objective("accuracy / DSP", narrow) == math.inf  # zero DSPs: as good as it gets
    assert expressions.objective("accuracy - LUT / DSP", narrow) == -math.inf  # x / 0 ranks last, no crash
    assert expressions.objective("0 / DSP", narrow) == -math.inf  # NaN ranks last
    assert expressions.objective("accuracy - FF", narrow) == -math.inf  # a metric the backend did not report
    assert expressions.predicate("FF > 10", narrow) is False
