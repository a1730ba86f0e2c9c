"""The estimator against real HLS reports: the held-out error must not grow past what
docs/estimator.md states, and the coefficients must be what the documented fit gives."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import HLS_REPORTS, REPO, require_fixtures
from hlsnake.synth import calibrate, estimate

DOC = REPO / "docs" / "estimator.md"
MARGIN = 1.0  # percentage points on top of the documented figures (they are rounded to 0.1)


@pytest.fixture(scope="module")
def cases():
    require_fixtures(HLS_REPORTS)
    return calibrate.load_cases(HLS_REPORTS)


def documented_errors() -> dict:
    """{(half, metric): (median, worst)} from the error table of docs/estimator.md."""
    figures = {}
    for line in DOC.read_text().splitlines():
        match = re.fullmatch(r"\|\s*(LUT|FF|DSP|latency)\s*\|" + r"\s*([0-9.]+)\s*\|" * 4, line.strip())
        if match:
            metric, *values = match.groups()
            values = [float(v) for v in values]
            figures["held_out", metric] = tuple(values[:2])
            figures["train", metric] = tuple(values[2:])
    assert len(figures) == 8, f"{DOC} lost its error table (| metric | held-out median | worst | training median | worst |)"
    return figures


def test_the_split_keeps_each_network_in_one_half(cases):
    halves = {}
    for case in cases:
        halves.setdefault(case.network, set()).add(case.half)
    assert all(len(h) == 1 for h in halves.values())
    assert sum(c.half == "train" for c in cases) == 13 and sum(c.half == "held_out" for c in cases) == 7
    # every report whose project kept a model and an hls4ml config is a case
    usable = [r["dir"] for r in calibrate.index_rows(HLS_REPORTS) if r["has_keras_model"] == "y"]
    assert sorted(c.name for c in cases) == sorted(usable)


@pytest.mark.parametrize("half", ["held_out", "train"])
def test_error_does_not_grow_past_the_documented_figures(cases, half):
    stats = calibrate.summary(calibrate.evaluate(cases), half)
    documented = documented_errors()
    for metric in calibrate.METRICS:
        median, worst = documented[half, metric]
        assert stats[metric]["median"] <= median + MARGIN, (metric, stats[metric])
        assert stats[metric]["worst"] <= worst + MARGIN, (metric, stats[metric])


@pytest.fixture(scope="module")
def refit(cases):
    """The documented fit, run again, with the cases its loss function was shown."""
    seen = set()
    loss = calibrate._loss

    def recording(fit_cases, coefficients, metric):
        seen.update(case.name for case in fit_cases)
        return loss(fit_cases, coefficients, metric)

    calibrate._loss = recording
    try:
        return calibrate.fit(cases), seen
    finally:
        calibrate._loss = loss


def test_coefficients_are_the_documented_fit_on_the_training_half(refit):
    """COEFFICIENTS were not tuned by hand, nor on the held-out reports."""
    fitted, _ = refit
    for key, value in estimate.COEFFICIENTS.items():
        if isinstance(value, dict):
            for name, v in value.items():
                assert fitted[key][name] == pytest.approx(v, rel=0.02, abs=1e-3), (key, name)
        else:
            assert fitted[key] == pytest.approx(value, rel=0.02, abs=1e-3), key


def test_the_fit_sees_only_the_training_half(cases, refit):
    _, seen = refit
    assert seen == {case.name for case in cases if case.half == "train"}


# -- rules of the estimator, on small inputs --------------------------------------------------


def test_csd_digits():
    # 7 = 8 - 1, 11 = 8 + 4 - 1 (three digits), 255 = 256 - 1, 85 = 64 + 16 + 4 + 1
    assert list(estimate.csd_digits([0, 1, 3, 7, 11, 255, 85, -7])) == [0, 1, 2, 2, 3, 2, 4, 2]


def _dense(weights, weight="fixed<16,6>", reuse=1, x="fixed<16,6>"):
    layer = {"name": "fc", "class": "Dense", "io_type": "io_parallel", "reuse_factor": reuse, "strategy": "latency",
             "output_shape": [weights.shape[1]], "result": "fixed<16,6>", "input": x, "weight": weight,
             "accum": "fixed<16,6>", "n_in": weights.shape[0], "n_out": weights.shape[1]}  # fmt: skip
    return [layer], {"fc": weights}


def test_zero_and_power_of_two_weights_cost_no_multiplier():
    rng = np.random.default_rng(0)
    dense = np.round(rng.uniform(-1, 1, (16, 8)) * 1024) / 1024  # 16-bit weights, mostly 3+ CSD digits
    full = estimate.estimate(*_dense(dense), 5.0)
    pruned = dense.copy()
    pruned[:8] = 0
    half = estimate.estimate(*_dense(pruned), 5.0)
    shifts = estimate.estimate(*_dense(np.sign(dense) * 0.25), 5.0)
    assert full["DSP"] > 0 and half["DSP"] < full["DSP"] and half["LUT"] < full["LUT"]
    assert shifts["DSP"] == 0


def test_reuse_factor_caps_multipliers_at_hls4ml_multiplier_limit():
    rng = np.random.default_rng(1)
    w = np.round(rng.uniform(-1, 1, (16, 8)) * 1024) / 1024
    w[w == 0] = 0.5 + 1 / 1024
    for reuse in (2, 4, 16):
        result = estimate.estimate(*_dense(w, reuse=reuse), 5.0)
        assert result["DSP"] <= -(-w.size // reuse) and result["interval"] <= reuse


def test_forced_binding_and_narrow_weights():
    rng = np.random.default_rng(2)
    w8 = np.round(rng.uniform(-1, 1, (16, 8)) * 128) / 128
    auto = estimate.estimate(*_dense(w8, weight="fixed<8,1>"), 5.0)
    dsp = estimate.estimate(*_dense(w8, weight="fixed<8,1>"), 5.0, mul_impl="dsp")
    fabric = estimate.estimate(*_dense(w8, weight="fixed<8,1>"), 5.0, mul_impl="fabric")
    assert auto["DSP"] == 0 < dsp["DSP"]  # 8-bit constants: LUTs unless forced
    assert fabric["DSP"] == 0 and fabric["LUT"] > dsp["LUT"]
    with pytest.raises(ValueError, match="mul_impl"):
        estimate.estimate(*_dense(w8), 5.0, mul_impl="dsp48")
    with pytest.raises(ValueError, match="tool"):
        estimate.estimate(*_dense(w8), 5.0, tool="quartus")
