"""The estimator against the real HLS reports of both fixture corpora.

The calibration tool (``tools/calibrate_estimator.py``, a developer tool outside the runtime
package) is imported by path. The leave-one-network-out errors must not grow past what the
package stores (``estimate_calibration.json``, which every estimate carries as its
``error_pct``) and what docs/estimator.md states; the stored coefficients must be what the
fit gives on all reports. The reports are converted with hls4ml (no C++ compile)."""

from __future__ import annotations

import csv
import re
import sys

import numpy as np
import pytest

from conftest import HLS_REPORTS, HLS_REPORTS_MORE, REPO, require_fixtures
from hlsnake.synth import estimate

sys.path.insert(0, str(REPO / "tools"))
import calibrate_estimator as calibration  # noqa: E402
import estimator_fixtures as fixtures  # noqa: E402

DOC = REPO / "docs" / "estimator.md"
MARGIN = 1.0  # percentage points on top of the stored figures (they are rounded to 0.1)
CORPORA = (HLS_REPORTS, HLS_REPORTS_MORE)


@pytest.fixture(scope="module")
def corpus():
    for path in CORPORA:
        require_fixtures(path)
    cases, skipped = [], []
    for path in CORPORA:
        found, left = fixtures.load_corpus(path)
        cases += found
        skipped += left
    return cases, skipped


@pytest.fixture(scope="module")
def validation(corpus):
    """Leave-one-network-out, recording which cases each fold's fit was shown."""
    seen = []
    original = calibration.Fit.__init__

    def recording(self, cases):
        seen.append({case.name for case in cases})
        original(self, cases)

    calibration.Fit.__init__ = recording
    try:
        rows, instances = calibration.leave_one_network_out(corpus[0], log=lambda *_: None)
    finally:
        calibration.Fit.__init__ = original
    return rows, instances, seen


@pytest.mark.slow
def test_every_report_with_a_model_is_a_case_and_the_others_say_why(corpus):
    cases, skipped = corpus
    with_model, without = [], []
    for path in CORPORA:
        with (path / "INDEX.csv").open(newline="") as f:
            for row in csv.DictReader(f):
                (with_model if row["has_keras_model"] == "y" else without).append(row["dir"])
    assert sorted(case.name for case in cases) == sorted(with_model)  # Concatenate, .keras HDF5, GRU/LSTM included
    assert sorted(skip.name for skip in skipped) == sorted(without)
    assert all("no usable Keras model" in skip.reason for skip in skipped)
    assert {case.tool for case in cases} == set(calibration.FAMILIES)


@pytest.mark.slow
def test_no_network_is_both_fitted_and_checked(corpus, validation):
    cases = corpus[0]
    rows, _, seen = validation
    networks = sorted({case.network for case in cases})
    assert len(seen) == len(networks)
    for network, shown in zip(networks, seen):
        held = {case.name for case in cases if case.network == network}
        assert held and not held & shown and len(held) + len(shown) == len(cases)
    assert sorted(row["case"] for row in rows) == sorted(case.name for case in cases)


def documented_errors() -> dict:
    """{(family, metric): (median, worst)} from the leave-one-network-out table of docs/estimator.md."""
    figures = {}
    pattern = r"\|\s*(vivado_hls|vitis_hls)\s*\|\s*\d+\s*\|\s*(\w+)\s*\|\s*([0-9.]+)\s*\|\s*([0-9.]+)\s*\|"
    for line in DOC.read_text().splitlines():
        match = re.fullmatch(pattern, line.strip())
        if match:
            figures[match[1], match[2]] = (float(match[3]), float(match[4]))
    assert len(figures) == 2 * len(estimate.METRICS), f"{DOC} lost its leave-one-network-out table"
    return figures


def test_the_package_docs_and_estimates_carry_the_same_errors():
    documented = documented_errors()
    stored = estimate._CALIBRATION
    for family in calibration.FAMILIES:
        for metric in estimate.METRICS:
            assert documented[family, metric] == (stored["errors"][family][metric], stored["worst"][family][metric])
        assert "leave-one-network-out" in estimate.ERROR_BASIS[family]


@pytest.mark.parametrize("family", calibration.FAMILIES)
@pytest.mark.slow
def test_leave_one_network_out_error_does_not_grow(validation, family):
    stats = calibration.summary(validation[0])[family]
    stored = estimate._CALIBRATION
    for metric in estimate.METRICS:
        assert stats[metric]["median"] <= stored["errors"][family][metric] + MARGIN, (metric, stats[metric])
        assert stats[metric]["worst"] <= stored["worst"][family][metric] + MARGIN, (metric, stats[metric])


@pytest.mark.slow
def test_stored_coefficients_are_the_fit_on_all_reports(corpus):
    """Not tuned by hand: the fit, from its priors, on every report gives what is stored."""
    fitted = calibration.fit(corpus[0])
    for scope, values in estimate.COEFFICIENTS.items():
        for name, value in values.items():
            assert fitted[scope][name] == pytest.approx(value, rel=1e-3, abs=1e-6), (scope, name)


@pytest.mark.slow
def test_each_layer_is_checked_against_its_instance(validation):
    """Term by term: most layers are matched to an instance of their report."""
    instances = validation[1]
    kinds = {(row["tool"], row["kind"]) for row in instances}
    assert len(instances) > 300 and ("vivado_hls", "dense") in kinds and ("vitis_hls", "conv") in kinds


# -- rules of the estimator, on small inputs (no fixtures) --------------------------------------------


def test_csd_digits():
    # 7 = 8 - 1, 11 = 8 + 4 - 1 (three digits), 255 = 256 - 1, 85 = 64 + 16 + 4 + 1
    assert list(estimate.csd_digits([0, 1, 3, 7, 11, 255, 85, -7])) == [0, 1, 2, 2, 3, 2, 4, 2]


def _dense(weights, weight="fixed<16,6>", reuse=1, x="fixed<16,6>", strategy="latency", accum="fixed<16,6>"):
    layer = {"name": "fc", "class": "Dense", "io_type": "io_parallel", "reuse_factor": reuse, "strategy": strategy,
             "output_shape": [weights.shape[1]], "result": "fixed<16,6>", "input": x, "weight": weight,
             "accum": accum, "n_in": weights.shape[0], "n_out": weights.shape[1]}  # fmt: skip
    inputs = {"name": "in", "class": "Input", "io_type": "io_parallel", "output_shape": [weights.shape[0]], "result": x}
    return [inputs, layer], {"fc": weights}


def _random_weights(seed, shape=(16, 8), scale=1024):
    rng = np.random.default_rng(seed)
    w = np.round(rng.uniform(-1, 1, shape) * scale) / scale
    w[w == 0] = 0.5 + 1 / scale
    return w


def test_zero_and_power_of_two_weights_cost_no_multiplier():
    dense = _random_weights(0)
    full = estimate.estimate(*_dense(dense), 5.0)
    pruned = dense.copy()
    pruned[:8] = 0
    half = estimate.estimate(*_dense(pruned), 5.0)
    shifts = estimate.estimate(*_dense(np.sign(dense) * 0.25), 5.0)
    assert full["DSP"] > 0 and half["DSP"] < full["DSP"] and half["LUT"] < full["LUT"]
    assert shifts["DSP"] == 0


def test_reuse_factor_caps_multipliers_and_lengthens_interval_and_latency():
    w = _random_weights(1)
    one = estimate.estimate(*_dense(w), 5.0)
    for reuse in (2, 4, 16):
        shared = estimate.estimate(*_dense(w, reuse=reuse), 5.0)
        assert shared["DSP"] <= -(-w.size // reuse) and 1 < shared["interval"] <= reuse
        assert shared["latency_cycles"] > one["latency_cycles"]


def test_forced_binding_and_narrow_weights():
    w8 = _random_weights(2, scale=128)
    auto = estimate.estimate(*_dense(w8, weight="fixed<8,1>", x="fixed<8,3>"), 5.0)
    dsp = estimate.estimate(*_dense(w8, weight="fixed<8,1>", x="fixed<8,3>"), 5.0, mul_impl="dsp")
    fabric = estimate.estimate(*_dense(w8, weight="fixed<8,1>", x="fixed<8,3>"), 5.0, mul_impl="fabric")
    assert auto["DSP"] == 0 < dsp["DSP"]  # 8-bit data and constants: LUTs unless forced
    assert fabric["DSP"] == 0
    with pytest.raises(ValueError, match="mul_impl"):
        estimate.estimate(*_dense(w8), 5.0, mul_impl="dsp48")
    with pytest.raises(ValueError, match="tool"):
        estimate.estimate(*_dense(w8), 5.0, tool="quartus")


def test_a_32_bit_product_takes_two_dsps():
    w = _random_weights(3, scale=2**16)  # constants of ~17 significant bits
    narrow = estimate.estimate(*_dense(w, weight="fixed<32,16>", x="fixed<16,6>", accum="fixed<32,16>"), 25.0)
    wide = estimate.estimate(*_dense(w, weight="fixed<32,16>", x="fixed<32,16>", accum="fixed<32,16>"), 25.0)
    assert wide["DSP"] == 2 * narrow["DSP"] > 0


def test_resource_strategy_with_reuse_factor_one_binds_like_latency():
    """Weights are constants again at R = 1: no 2x general multipliers."""
    w = _random_weights(4)
    latency = estimate.estimate(*_dense(w), 5.0)
    resource = estimate.estimate(*_dense(w, strategy="resource"), 5.0)
    assert resource["DSP"] == latency["DSP"]
    rom = estimate.estimate(*_dense(w, strategy="resource", reuse=16), 5.0)
    assert rom["DSP"] == 8 and rom["BRAM_18K"] >= 1  # ceil(128/16) general multipliers; weights in BRAM


# A 16x10 Dense layer, 16-bit data and weights, the multiplications on DSPs (config_op mul
# -impl dsp). Expected by hand from hls4ml 1.3's code: the Resource kernel
# (nnet_dense_resource.h) has block_factor = ceil(n_in * n_out / R) general multipliers that
# read every weight, zeros included, from a ROM of R words (one word per cycle: an interval
# of R; BRAM from R = 8, as the estimator's rules say); the Latency kernel's multiplier_limit
# (core_templates.py) is ceil(n_in * n_out / R) - n_zeros / R, its weights are constants.
RESOURCE_VS_LATENCY = [
    # strategy, R, half the weights zero, DSP, interval, BRAM_18K
    ("resource", 4, False, 40, 4, 0),  # ceil(160 / 4)
    ("resource", 4, True, 40, 4, 0),  # zeros included
    ("resource", 8, True, 20, 8, 9),  # ROM 8 words x (20 x 16 bits): ceil(320 / 36) BRAM18K of 512x36
    ("resource", 16, False, 10, 16, 5),  # ROM 16 words x 160 bits: ceil(160 / 36)
    ("latency", 4, False, 40, 4, 0),
    ("latency", 4, True, 20, 4, 0),  # 40 - 80 / 4: a zero weight costs no multiplier
    ("latency", 8, True, 10, 8, 0),  # 20 - 80 / 8
]


@pytest.mark.parametrize("tool", ["Vitis", "Vivado"])
@pytest.mark.parametrize("strategy, reuse, pruned, dsp, interval, bram", RESOURCE_VS_LATENCY)
def test_resource_strategy_against_latency_by_hand(tool, strategy, reuse, pruned, dsp, interval, bram):
    # 160 different constants of at least three CSD digits (true multiplications, none repeated)
    codes = [k for k in range(301, 1024, 2) if estimate.csd_digits([k])[0] >= 3][:160]
    w = np.array(codes, dtype=float).reshape(16, 10) / 1024
    w[:, ::2] *= -1
    if pruned:
        w[::2, :] = 0  # 80 of 160 weights
    result = estimate.estimate(*_dense(w, reuse=reuse, strategy=strategy), 5.0, mul_impl="dsp", tool=tool)
    assert (result["DSP"], result["interval"], result["BRAM_18K"]) == (dsp, interval, bram)


def test_slower_parts_and_faster_clocks_take_more_cycles():
    w = _random_weights(5, shape=(64, 32))
    fast = estimate.estimate(*_dense(w), 5.0, part="xcu250-figd2104-2L-e")
    slow = estimate.estimate(*_dense(w), 5.0, part="xc7z020clg400-1")
    quick = estimate.estimate(*_dense(w), 2.5, part="xcu250-figd2104-2L-e")
    assert slow["latency_cycles"] >= fast["latency_cycles"] and quick["latency_cycles"] >= fast["latency_cycles"]
    assert (slow["device_class"], fast["device_class"]) == ("7series", "ultrascale_plus")


def test_every_estimate_carries_its_validated_error():
    result = estimate.estimate(*_dense(_random_weights(6)), 5.0, tool="Vivado")
    assert result["source"] == "estimate" and result["estimator_version"] == estimate.VERSION
    assert set(result["error_pct"]) == set(estimate.METRICS)
    assert all(isinstance(v, float) for v in result["error_pct"].values())
    assert "leave-one-network-out" in result["error_basis"] and "Vivado HLS" in result["error_basis"]


def test_a_conversion_that_drops_no_bits_costs_no_rounding_or_saturation():
    def relu(source, target):
        layer = {"name": "r", "class": "Activation", "activation": "relu", "input": source, "result": target}
        return estimate._quantises(layer)

    assert relu("fixed<32,16>", "fixed<32,16,RND_CONV,SAT>") == (False, False)  # the VAE's ReLUs
    assert relu("fixed<16,6>", "ufixed<8,0,RND_CONV,SAT>") == (True, True)  # QKeras quantized_relu
    assert relu("fixed<16,6>", "fixed<16,6>") == (False, False)


def _mlp(first, second):
    """Input -> Dense(first) -> ReLU -> Dense(second), io_parallel."""
    n_in, hidden, n_out = first.shape[0], first.shape[1], second.shape[1]
    common = {"io_type": "io_parallel", "reuse_factor": 1, "strategy": "latency", "result": "fixed<16,6>"}
    layers = [
        {**common, "name": "in", "class": "Input", "output_shape": [n_in]},
        {**common, "name": "fc1", "class": "Dense", "output_shape": [hidden], "input": "fixed<16,6>", "weight": "fixed<16,6>",
         "accum": "fixed<16,6>", "n_in": n_in, "n_out": hidden},
        {**common, "name": "relu", "class": "Activation", "activation": "relu", "output_shape": [hidden], "input": "fixed<16,6>",
         "n_in": hidden},
        {**common, "name": "fc2", "class": "Dense", "output_shape": [n_out], "input": "fixed<16,6>", "weight": "fixed<16,6>",
         "accum": "fixed<16,6>", "n_in": hidden, "n_out": n_out},
    ]  # fmt: skip
    return layers, {"fc1": first, "fc2": second}


def test_the_activation_of_a_pruned_output_costs_nothing():
    first, second = _random_weights(7, (8, 16)), _random_weights(8, (16, 4))
    pruned = first.copy()
    pruned[:, :6] = 0  # 6 of 16 outputs are their bias
    full = estimate.Design(*_mlp(first, second), 5.0, tool="vivado_hls")
    folded = estimate.Design(*_mlp(pruned, second), 5.0, tool="vivado_hls")
    assert folded.live == {"relu": 10} and full.live == {}
    assert folded.estimate()["DSP"] < full.estimate()["DSP"]  # (fc1's pruned products; fc2 keeps its own)
    relu = lambda design: next(layer for layer in design.estimate()["layers"] if layer["name"] == "relu")["LUT"]  # noqa: E731
    assert relu(folded) == pytest.approx(relu(full) * 10 / 16)


def test_registers_go_where_they_hold_fewest_bits_and_a_dsp_holds_its_own():
    add = lambda bits: estimate.Op.holding("add", 1, bits)  # noqa: E731
    delay = {"add": 1.0, "dsp": 1.5, "act": 1.0}
    chain = [add(100), add(10), add(50)]  # one boundary after the first or the second step fits a 2 ns period
    assert estimate._pack(chain, delay, 2.0) == (1, {"ff_pipeline_bit": 10})
    products = estimate.Op("dsp", 1, {"ff_dsp_stage_bit": 400, "ff_pipeline_bit": 30})
    cycles, held = estimate._pack([products, add(200), add(100)], delay, 2.0)
    assert cycles == 1 and held == {"ff_dsp_stage_bit": 400, "ff_pipeline_bit": 30}  # at the DSPs: 30 flip-flops
    w = _random_weights(9, (16, 8))
    terms = lambda part: estimate.Design(*_dense(w), 5.0, tool="vivado_hls", part=part).cost()["terms"]["FF"]  # noqa: E731
    assert "ff_dsp_stage_7series_bit" in terms("xc7z020clg400-1") and "ff_dsp_stage_7series_bit" not in terms("xcu250-figd2104-2L-e")


def test_forced_fabric_multiplications_are_multiplier_cores():
    w8 = _random_weights(10, scale=128)
    layers, weights = _dense(w8, weight="fixed<8,1>", x="fixed<8,3>")
    fabric = estimate.Design(layers, weights, 5.0, mul_impl="fabric").cost()["terms"]["LUT"]
    auto = estimate.Design(layers, weights, 5.0).cost()["terms"]["LUT"]
    assert fabric.get("lut_fabric_core_bit", 0) > 0 and "lut_fabric_mult" not in fabric
    assert "lut_fabric_core_bit" not in auto


def test_resource_strategy_multiplexers_follow_hls4mls_loops():
    # R <= n_in: n_in / R multiplexers of R inputs; R a multiple of n_in: one of n_in inputs,
    # and each multiplier selects one of R / n_in accumulators; other R: a multiplexer per multiplier
    assert estimate._resource_selection(80, 10, 256, 16, 16) == pytest.approx(8 * 16 * 3)
    assert estimate._resource_selection(12, 24, 5, 16, 16) == pytest.approx(16 * 11 / 3 + 5 * 16 / 3)
    assert estimate._resource_selection(12, 30, 4, 16, 16) == pytest.approx(4 * 16 * 11 / 3 + 4 * 16 * 1 / 3)


def test_a_product_repeated_for_several_outputs_is_made_once():
    """The same input times the same constant is one product (the jet MLP's forced-DSP
    reports: DSPs = distinct (input, signed constant) pairs); a negated constant is another."""
    w = np.tile(_random_weights(11, (16, 1)), (1, 8))  # every input: one constant for all 8 outputs
    shared = estimate.estimate(*_dense(w), 5.0, mul_impl="dsp")
    distinct = estimate.estimate(*_dense(_random_weights(11, (16, 8))), 5.0, mul_impl="dsp")
    true = int((estimate.csd_digits(np.round(w[:, 0] * 1024).astype(int)) >= 3).sum())
    assert shared["DSP"] == true and distinct["DSP"] > 4 * true
    negated = w.copy()
    negated[:, 4:] *= -1
    assert estimate.estimate(*_dense(negated), 5.0, mul_impl="dsp")["DSP"] == 2 * true


def test_a_batchnorm_shares_its_multipliers_by_its_reuse_factor():
    """nnet_batchnorm: ALLOCATION limit ceil(n_in / R), II = R (the pixel CNN's BatchNorms
    at R = 10000: one DSP each)."""
    scale = np.full(24, 341 / 1024)
    layers = [{"name": "in", "class": "Input", "io_type": "io_parallel", "output_shape": [24], "result": "fixed<16,6>"},
              {"name": "bn", "class": "BatchNormalization", "io_type": "io_parallel", "reuse_factor": 1, "strategy": "latency",
               "output_shape": [24], "result": "fixed<16,6>", "input": "fixed<16,6>", "weight": "fixed<16,6>", "n_in": 24}]  # fmt: skip
    full = estimate.estimate(layers, {"bn": scale}, 5.0, mul_impl="dsp")
    layers[1]["reuse_factor"] = 10000
    shared = estimate.estimate(layers, {"bn": scale}, 5.0, mul_impl="dsp")
    assert (full["DSP"], full["interval"]) == (24, 1) and (shared["DSP"], shared["interval"]) == (1, 24)


def test_a_dataflow_top_has_no_top_registers_and_hands_over_between_processes():
    first, second = _random_weights(12, (8, 128)), _random_weights(13, (128, 4))
    layers, weights = _mlp(first, second)
    pipelined = estimate.Design(layers, weights, 12.0, tool="vivado_hls")  # layers of no latency, a run longer than the period
    dataflow = estimate.Design([{**l, "pipeline_style": "dataflow"} for l in layers], weights, 12.0, tool="vivado_hls")
    c = estimate.family_coefficients("vivado_hls")
    assert "ff_top_bit" in pipelined.cost()["terms"]["FF"] and "ff_top_bit" not in dataflow.cost()["terms"]["FF"]
    timing = dataflow.schedule(dataflow.layer_costs(c), c)
    handover = c["dataflow_process_cycles"] * (len(timing["cycles"]) - 1)
    assert handover > 0 and timing["latency_cycles"] == max(1, round(sum(timing["cycles"]) + handover + c["top_cycles"]))


def test_a_top_pipeline_with_an_interval_selects_per_state():
    w = _random_weights(14)
    one = estimate.Design(*_dense(w), 5.0, tool="vitis_hls").cost()["terms"]["LUT"]
    shared = estimate.Design(*_dense(w, reuse=4), 5.0, tool="vitis_hls").cost()["terms"]["LUT"]
    assert "lut_top_state" not in one and shared["lut_top_state"] == 3  # interval 4: 3 states more than 1


def test_an_io_stream_dense_takes_its_next_input_after_its_reuse_factor():
    w = _random_weights(15, (64, 8))
    layers, weights = _dense(w, reuse=64, strategy="resource")
    layers = [{**l, "io_type": "io_stream"} for l in layers]
    assert estimate.estimate(layers, weights, 5.0)["interval"] >= 64


def test_the_binding_follows_the_declared_weight_width():
    """A true multiplication goes on a DSP by the widths of the types, whatever the constant's
    significant bits (Vivado HLS: the float jet MLP's 5-bit constants of ap_fixed<16,6> on
    DSPs, the L1 tagger's ap_fixed<8,4> ones in LUTs)."""
    c = estimate.family_coefficients("vivado_hls")
    w = np.full((16, 4), 11 / 16)  # 11 = 16 - 4 - 1: three CSD digits, five significant bits
    wide = estimate.estimate(*_dense(w, weight="fixed<16,6>"), 5.0, tool="Vivado")
    narrow = estimate.estimate(*_dense(w, weight=f"fixed<{c['dsp_min_weight_bits'] - 1},4>"), 5.0, tool="Vivado")
    assert wide["DSP"] == 16 and narrow["DSP"] == 0  # (one product per input: the same constant for all outputs)
