import re

import pytest

from hlsnake import config as cfg
from hlsnake.flows import config_designs
from hlsnake.designs import (
    Design,
    Step,
    hls_stage_regex,
    model_stage_regex,
    parse_design_path,
    segment_regex,
)
from hlsnake.tasks import HLS, MODEL_STEP, TASKS


def test_step_dirnames_have_fixed_decimals():
    # 0.1 + 0.2 must not make a second directory for the same point
    assert Step.make("prune", sparsity=0.1 + 0.2).dirname == "prune_s0.30"
    assert Step.make("quantize", weight_bits=[6, 4, 8], activation_bits=6).dirname == "quant_w6-4-8_a6"
    assert Step.make("hls", reuse_factor=4, strategy="resource", io_type="io_stream").dirname == "hls_rf4_resource_stream"
    assert Step.make("scale", width_factor=0.75).dirname == "scale_f0.750"


def test_path_round_trip():
    steps = (
        Step.make("scale", width_factor=0.625),
        Step.make("prune", sparsity=0.5),
        Step.make("quantize", weight_bits=[6, 4], activation_bits=[6]),
        Step.make("hls", reuse_factor=2, strategy="latency", io_type="io_parallel"),
        Step.make("synth", backend="estimate"),
    )
    design = Design("out/res", "digits", "mlp", steps)
    assert design.path == (
        "out/res/digits/mlp/train/scale_f0.625/prune_s0.50/quant_w6-4_a6/hls_rf2_latency_parallel/synth_estimate"
    )
    assert parse_design_path(design.path) == design
    assert design.model_path.endswith("quant_w6-4_a6")
    assert design.hls_path.endswith("hls_rf2_latency_parallel")


def test_parse_rejects_unknown_stage():
    with pytest.raises(ValueError, match="unknown stage directory 'bogus_x'"):
        parse_design_path("results/digits/mlp/train/bogus_x")


def test_stage_regexes_match_only_their_stages():
    model_re, hls_re = model_stage_regex("results"), hls_stage_regex("results")
    assert re.fullmatch(model_re, "results/digits/mlp/train/prune_s0.50/quant_w6_a6")
    assert not re.fullmatch(model_re, "results/digits/mlp/train/hls_rf1_latency_parallel")
    assert not re.fullmatch(model_re, "results/../etc/mlp/train")
    assert re.fullmatch(hls_re, "results/digits/mlp/train/quant_w6_a6/hls_rf1_latency_parallel")
    assert "(?P<" not in model_re  # Snakemake adds its own named groups


def test_grid_expands_to_shared_prefixes():
    config = cfg.validate(
        {"designs": {"baseline": True, "grid": {"sparsity": [0.0, 0.5], "weight_bits": [4, 8], "reuse_factor": [1, 2]}}}
    )
    designs = config_designs(config)
    assert len(designs) == 1 + 2 * 2 * 2
    paths = [d.path for d in designs]
    assert "results/digits/mlp/train/hls_rf1_latency_parallel/synth_estimate" in paths  # the baseline
    assert "results/digits/mlp/train/prune_s0.50/quant_w8_a8/hls_rf2_latency_parallel/synth_estimate" in paths
    # designs that share the pruning stage share its directory
    pruned = {d.stage_paths()[1] for d in designs if d.steps[0].task == "prune"}
    assert pruned == {"results/digits/mlp/train/prune_s0.50"}


def test_every_task_has_one_prefix():
    prefixes = [task.prefix for task in TASKS.values()]
    assert len(prefixes) == len(set(prefixes))


@pytest.mark.parametrize(
    "stage, automatic, name, matches",
    [
        (MODEL_STEP, False, "prune_s0.50", True),
        (MODEL_STEP, False, "quant_w6-4_a6", True),
        (MODEL_STEP, False, "prune_a0.0200", False),
        (MODEL_STEP, True, "prune_a0.0200", True),
        (MODEL_STEP, True, "quant_w6_a6", False),
        (MODEL_STEP, False, "reduce_0123abcd", False),  # a control stage has a rule of its own
        (HLS, False, "hls_rf4-2_resource_stream", True),
        (HLS, False, "hls_rf1_latency_parallel_a0.0100", False),
        (HLS, True, "hls_rf1_latency_parallel_a0.0100", True),
        (HLS, True, "hls_rf1_latency_parallel", False),
    ],
)
def test_rule_constraints_come_from_the_registry(stage, automatic, name, matches):
    assert bool(re.fullmatch(segment_regex(stage, automatic), name)) is matches


def test_absolute_paths_round_trip():
    path = "/tmp/work/results/digits/mlp/train/prune_s0.50/hls_rf1_latency_parallel/synth_estimate"
    assert parse_design_path(path).path == path
