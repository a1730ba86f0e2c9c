"""A design's row says how far its hardware numbers may be off: an estimate carries its
validated median error per number (``<metric>_err_pct``), a measured number none; the
summary table, the study trials and the accuracy/cost plots show it."""

import numpy as np
import pandas as pd
import pytest

from hlsnake import report, results, trials
from hlsnake.artifacts import METRICS_FILE, RESOURCES_FILE
from hlsnake.designs import parse_design_path
from hlsnake.evaluation import CSIM
from hlsnake.fileio import write_json
from hlsnake.plotting import error_bars, pyplot
from hlsnake.vocabulary import ERROR_COLUMNS, ESTIMATE_ERRORS

# as the estimator writes them (docs/estimator.md)
ERROR_PCT = {"LUT": 11.7, "FF": 19.5, "DSP": 1.2, "BRAM_18K": 1.3, "latency_cycles": 12.2, "interval": 0.5}
HARDWARE = {"DSP": 40, "LUT": 5000, "FF": 3000, "BRAM_18K": 0, "latency_cycles": 9, "latency_ns": 45.0, "interval": 1}
ESTIMATE = {"source": "estimate", "estimator_version": "0.5", **HARDWARE, "error_pct": ERROR_PCT, "error_basis": "validated"}
VENDOR = {"source": "vitis_hls", "tool_version": "2025.1", **HARDWARE}


def finished_design(root, backend: str, resources: dict, stage: str = "quant_w4_a4", accuracy: float = 0.89):
    """A finished design's records, as its stages leave them: the model's and the hls
    stage's metrics.json and the synthesis stage's resources.json."""
    model = root / "results/digits/mlp/train" / stage
    hls = model / "hls_rf1_latency_parallel"
    synth = hls / f"synth_{backend}"
    synth.mkdir(parents=True, exist_ok=True)
    write_json(model / METRICS_FILE, {"accuracy": 0.9, "val_accuracy": 0.91, "sparsity": 0.0, "n_params": 1000})
    write_json(hls / METRICS_FILE, {"accuracy": accuracy, "val_accuracy": 0.9, "agreement": 0.99, "evaluator": CSIM})
    write_json(synth / RESOURCES_FILE, resources)
    return parse_design_path(str(synth))


def test_an_estimated_row_carries_the_estimates_errors_and_a_measured_row_none(tmp_path):
    estimated = results.design_row(finished_design(tmp_path, "estimate", ESTIMATE))
    assert estimated["source"] == "estimate 0.5"
    assert {name: estimated[f"{name}_err_pct"] for name in ESTIMATE_ERRORS} == ERROR_PCT
    measured = results.design_row(finished_design(tmp_path, "vitis", VENDOR))
    assert measured["source"] == "vitis_hls" and all(measured[column] is None for column in ERROR_COLUMNS)


def test_the_summary_and_the_trials_carry_the_errors(tmp_path):
    designs = [finished_design(tmp_path, "estimate", ESTIMATE), finished_design(tmp_path, "vitis", VENDOR)]
    frame = report.summary_frame(designs)
    assert frame.loc[0, "LUT_err_pct"] == ERROR_PCT["LUT"] and frame.loc[1, list(ERROR_COLUMNS)].isna().all()
    # the HTML table shows them after the numbers they qualify, and drops them when every number is measured
    html = report.html_table(frame, "t")
    assert html.index(">interval<") < html.index(">DSP_err_pct<") < html.index(">source<")
    assert "_err_pct" not in report.html_table(frame.iloc[1:], "t")
    row = trials.result_row(designs[0])
    assert row["latency_cycles_err_pct"] == ERROR_PCT["latency_cycles"] and row["resource_source"] == "estimate 0.5"


def test_the_summary_front_is_bit_accurate_accuracy_against_dsp_and_lut(tmp_path):
    # stage: (accuracy, DSP, LUT) and whether it is on the front, by hand
    designs = {
        "quant_w4_a4": (0.90, 10, 1000, True),
        "quant_w5_a5": (0.85, 20, 2000, False),  # quant_w4_a4 is more accurate and smaller
        "quant_w6_a6": (0.95, 30, 500, True),  # the most accurate
        "quant_w7_a7": (0.80, 5, 3000, True),  # the fewest DSPs
        "quant_w8_a8": (0.90, 10, 1000, True),  # equal to quant_w4_a4: neither dominates
        "quant_w3_a3": (0.90, 10, 1001, False),  # quant_w4_a4 has one LUT fewer
        "quant_w2_a2": (0.96, 40, 4000, True),  # (more accurate than any)
    }
    rows = [
        finished_design(tmp_path, "estimate", {**ESTIMATE, "DSP": dsp, "LUT": lut}, stage, accuracy)
        for stage, (accuracy, dsp, lut, _) in designs.items()
    ]
    frame = report.summary_frame(rows)
    assert frame["pareto"].tolist() == [front for *_, front in designs.values()]


def test_estimated_costs_get_error_bars_and_measured_ones_none():
    frame = pd.DataFrame({"LUT": [1000.0, 2000.0], "accuracy": [0.9, 0.8], "LUT_err_pct": [10.0, np.nan]})
    plt = pyplot()
    fig, ax = plt.subplots()
    error_bars(ax, frame, "LUT")
    (bars,) = ax.containers
    segments = bars.lines[2][0].get_segments()
    assert len(segments) == 1  # the measured design has none
    assert np.asarray(segments[0])[:, 0].tolist() == pytest.approx([900.0, 1100.0])
    error_bars(ax, frame.drop(columns="LUT_err_pct"), "LUT")  # a table from before the errors
    error_bars(ax, frame.assign(LUT_err_pct=np.nan), "LUT")  # every number measured
    assert len(ax.containers) == 1
    plt.close(fig)


def test_the_summary_plot_draws_with_estimated_and_measured_rows(tmp_path):
    designs = [finished_design(tmp_path, "estimate", ESTIMATE), finished_design(tmp_path, "vitis", VENDOR)]
    report.plot(report.summary_frame(designs), tmp_path / "summary.png")
    assert (tmp_path / "summary.png").stat().st_size
