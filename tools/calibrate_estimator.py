"""Calibrate hlsnake's estimator on real HLS reports and measure its error (developer tool).

    python3 tools/calibrate_estimator.py ../shared/fixtures/hls_reports ../shared/fixtures/hls_reports_more
    python3 tools/calibrate_estimator.py FIXTURES... --fit            # refit, leave-one-network-out table
    python3 tools/calibrate_estimator.py FIXTURES... --fit --write    # ... and store it in the package

Every report of the given fixture directories whose project kept its Keras model becomes
a case (:mod:`estimator_fixtures`); the others are listed with the reason. The
coefficients are fitted per tool family (Vivado HLS <= 2020.1, Vitis HLS >= 2020.2):

1. the binding of the multiplications (``mult_min_digits``, ``dsp_min_*``): a grid, on DSPs;
2. the schedule (delays, register and table cycles, io_stream intervals): coordinate
   descent on a grid, on the latency of the whole design and of every matched instance of
   the report (the per-layer table), so each term is fitted on what it predicts;
3. LUT, FF and BRAM: linear in their coefficients (amount x coefficient per term), a
   robust least-squares fit of log(estimate / report) with a weak prior on each
   coefficient (the tables cannot tell all terms apart on their own); a few costs are
   what the logic is and not fitted (``PHYSICAL``), BRAM blocks are counted.

The error is measured leave-one-network-out: for each network, the coefficients are
fitted on every other network's reports and the left-out reports are estimated. ``--write``
stores the coefficients fitted on everything and that error table in
``src/hlsnake/synth/estimate_calibration.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import estimator_fixtures as fixtures  # noqa: E402
from hlsnake.synth import estimate  # noqa: E402

FAMILIES = ("vivado_hls", "vitis_hls")
METRICS = estimate.METRICS

# Coefficients each tool family has its own of (what its binder and scheduler decide); the
# others are shared by both families (what a piece of logic costs).
FAMILY_SPECIFIC = {
    "mult_min_digits", "dsp_min_input_bits", "dsp_min_weight_bits",
    # adder trees: the jet MLP's Dense layers take 1.0-1.04 LUT per adder bit in Vivado HLS
    # 2019.2, the same types 0.9-1.6 in Vitis HLS 2021-2023 (their operator libraries differ)
    "lut_adder_bit",
    # a ReLU's compare-and-select: 28 LUTs per 16-bit element in Vivado HLS 2019.2-2020.1 and
    # Vitis HLS 2022.1 (jet, iris, GRU/LSTM, 10-64-32-1 MLP), 38 in Vitis HLS 2023.2-2025.1
    # (16-32-16-8-2 and iris MLPs); 32-bit: 51-60 (Vivado HLS), 70-79 (Vitis HLS)
    "lut_activation_bit",
    "layer_register_cycles", "top_cycles", "stream_layer_cycles", "stream_conv_ii", "stream_resource_ii",
    "ff_pipeline_bit", "ff_dsp_stage_bit", "ff_dsp_stage_7series_bit", "ff_output_bit", "ff_shared_product_bit",
    # Vivado HLS splits a stream of channels into a FIFO per channel, Vitis HLS keeps one wide FIFO
    "lut_fifo_bram", "lut_fifo_srl_bit", "lut_fifo_bit", "ff_fifo_bram", "ff_fifo_srl", "ff_fifo_srl_bit", "ff_fifo_bit",
}  # fmt: skip

# Where the fit starts, and the prior it is pulled towards (the linear ones), with where
# each value comes from. The fit does not start from the stored coefficients, so it gives
# the same result whatever is stored.
PRIORS = {
    # binding: constants of >= 3 CSD digits are multiplications; DSPs for 16-bit data
    "mult_min_digits": 3, "dsp_min_input_bits": 11, "dsp_min_weight_bits": 6,
    # schedule (ns on UltraScale+): a 16-bit carry-chain add, a DSP48 multiply, a comparison and multiplexer
    "delay_add": 0.7, "delay_dsp": 3.0, "delay_act": 0.5, "speed_7series": 2.0, "speed_ultrascale": 1.3,
    "speed_ultrascale_plus": 1.0, "table_cycles": 1, "resource_cycles": 3, "recurrent_step_cycles": 10,
    # a call of a pipelined function (latency >= 1) takes one state more than its latency (not fitted)
    "layer_register_cycles": 1, "top_cycles": 1, "stream_layer_cycles": 1, "stream_conv_ii": 1, "stream_resource_ii": 0,
    # a process of an io_parallel dataflow top hands its output over in a channel (ping-pong buffer)
    "dataflow_process_cycles": 1,
    # LUTs: one LUT per bit of an adder on a carry chain (also an accumulator of the Resource
    # strategy); a constant multiplication is its shift-and-add adders; a LUT multiplier
    # core ~1/2 LUT per bit x bit, ~1 for a product of two variables (a softmax's);
    # a multiplexer's LUT6s (estimate._mux) per bit;
    # ReLU 1.75 LUT per input bit (jet MLP: 1792 LUTs for 64 x 16 bits); a table
    # lookup's index ~100 LUTs (a one-element sigmoid: 126-150);
    # a 32-deep shift register per LUT; a stream process ~200 LUTs (padding modules: 200-700);
    # a Vitis HLS FIFO's selection ~1 LUT per bit of width; an upsampling row ~10 per element
    "lut_adder_bit": 1.0, "lut_accumulator_bit": 1.0, "lut_shift_add_bit": 1.0, "lut_fabric_mult": 1.0,
    "lut_fabric_core_bit": 0.5, "lut_fabric_var_core_bit": 1.0, "lut_dsp_glue": 5.0, "lut_mux_bit": 1.0,
    "lut_rom_bit": 1.0, "lut_window_bit": 1.0, "lut_line_buffer_bit": 0.1,
    "lut_table_index_bit": 1.0, "lut_table_lookup": 100.0,
    "lut_activation_bit": 1.75, "lut_round_bit": 1.0, "lut_saturate_bit": 1.0, "lut_softmax": 100.0,
    "lut_pool_bit": 4.0, "lut_copy_bit": 1.0, "lut_recurrent_bit": 2.0,
    "lut_fifo_bram": 20.0, "lut_fifo_srl_bit": 1.0, "lut_fifo_bit": 1.0,
    "lut_process": 200.0, "lut_row_element": 10.0, "lut_resource_layer": 1500.0, "lut_top_state": 5.0,
    # FFs: one per bit held (also in the top function's registers between layers; a
    # DSP's own registers: none; a softmax's 18-bit values, held
    # 13-16 bits wide in the jet, cardio and iris reports; an upsampling's row); FIFO
    # control ~5 (shift register) to ~40 (BRAM) flip-flops, a Vitis HLS FIFO's data ~1 per bit
    "ff_pipeline_bit": 1.0, "ff_dsp_stage_bit": 0.1, "ff_dsp_stage_7series_bit": 1.0, "ff_output_bit": 1.0,
    "ff_io_bit": 1.0, "ff_shared_product_bit": 1.0, "ff_top_bit": 1.0,
    "ff_accumulator_bit": 1.0, "ff_window_bit": 1.0, "ff_stage_bit": 0.75, "ff_pool_bit": 1.0, "ff_copy_bit": 0.3,
    "ff_row_bit": 1.0,
    "ff_recurrent_bit": 1.0, "ff_fifo_bram": 40.0, "ff_fifo_srl": 5.0, "ff_fifo_srl_bit": 0.3, "ff_fifo_bit": 1.0,
    "ff_process": 50.0,
    "ff_resource_layer": 1000.0,
    # BRAM18K: the counts are structural (memory shape -> blocks), not fitted
    "bram_rom": 1.0, "bram_table": 1.0, "bram_fifo": 1.0,
}  # fmt: skip
LINEAR = ("LUT", "FF")  # fitted; BRAM_18K is counted
# Costs that are what the logic is, not fitted: the top function registers each bit of the
# network's input once
PHYSICAL = {"ff_io_bit": 1.0}

# mult_min_digits stays 3: a constant of two CSD digits is one adder, which no tool puts on a DSP
BINDING_GRID = {"mult_min_digits": (3,), "dsp_min_input_bits": range(4, 20), "dsp_min_weight_bits": range(2, 19)}
SCHEDULE_GRID = {
    "delay_add": [round(0.1 * i, 2) for i in range(2, 21)],
    "delay_dsp": [round(0.25 * i, 2) for i in range(2, 25)],
    "delay_act": [round(0.1 * i, 2) for i in range(1, 21)],
    "speed_7series": [round(0.1 * i, 2) for i in range(8, 41)],
    "speed_ultrascale": [round(0.1 * i, 2) for i in range(8, 31)],
    "table_cycles": [0, 1, 2, 3, 4],
    "resource_cycles": list(range(0, 8)),
    "recurrent_step_cycles": list(range(0, 30)),
    "stream_layer_cycles": [0, 0.5, 1, 1.5, 2, 3, 4, 6, 8],
    "dataflow_process_cycles": [0, 0.5, 1, 1.5, 2, 3],
    "top_cycles": [-1, 0, 1, 2, 3, 4],
    "stream_conv_ii": [1, 2, 3, 4],
    "stream_resource_ii": list(range(0, 20)),
}
INSTANCE_WEIGHT = 0.5  # all of a report's instances together weigh half as much as its total
PRIOR_SIGMA = 1.0  # log units: a coefficient e-fold off its prior weighs like one report 100% off


def _log_error(estimated, true) -> float:
    return abs(math.log((estimated + 1.0) / (true + 1.0)))


def error_pct(estimated: float, true: float) -> float:
    """Absolute error in % of the report's value (of 1 where the report says 0, e.g. no DSPs)."""
    return abs(estimated - true) / max(true, 1) * 100.0


def _scope(name: str, family: str) -> str:
    return family if name in FAMILY_SPECIFIC else "shared"


def initial_coefficients() -> dict:
    return {"shared": {k: v for k, v in PRIORS.items() if k not in FAMILY_SPECIFIC},
            **{family: {k: v for k, v in PRIORS.items() if k in FAMILY_SPECIFIC} for family in FAMILIES}}  # fmt: skip


class Fit:
    """All coefficients (shared and per family) fitted on a set of cases, from the priors."""

    def __init__(self, cases: list):
        self.cases = cases
        self.c = initial_coefficients()
        # in the schedule fit every network weighs the same, however many of its reports the corpus holds
        counts = {}
        for case in cases:
            counts[case.network] = counts.get(case.network, 0) + 1
        self.weight = {case.name: 1.0 / counts[case.network] for case in cases}

    def family(self, family: str) -> dict:
        return estimate.family_coefficients(family, self.c)

    def run(self) -> dict:
        for family in FAMILIES:
            self._binding(family)
        self._schedule()
        for metric in LINEAR:
            self._linear(metric)
        return self.c

    def _binding(self, family: str) -> None:
        cases = [case for case in self.cases if case.tool == family]
        if not cases:
            return
        base, prior, best = self.family(family), {k: PRIORS[k] for k in BINDING_GRID}, None
        for md in BINDING_GRID["mult_min_digits"]:
            for bx in BINDING_GRID["dsp_min_input_bits"]:
                for bc in BINDING_GRID["dsp_min_weight_bits"]:
                    point = {"mult_min_digits": md, "dsp_min_input_bits": bx, "dsp_min_weight_bits": bc}
                    loss = np.mean([_log_error(_dsp(case, {**base, **point}), case.truth["DSP"]) for case in cases])
                    distance = sum(abs(point[k] - prior[k]) for k in point)  # ties: nearest the prior
                    if best is None or (round(loss, 9), distance) < best[0]:
                        best = ((round(loss, 9), distance), point)
        self.c[family].update(best[1])

    def _schedule_loss(self, c: dict) -> float:
        total, weight = 0.0, 0.0
        for case in self.cases:
            family = estimate.family_coefficients(case.tool, c)
            design = case.design()
            costs = design.layer_costs(family)
            timing = design.schedule(costs, family, registers_held=False)
            w = self.weight[case.name]
            total += w * _log_error(timing["latency_cycles"], case.truth["latency_cycles"])
            total += w * 0.5 * _log_error(timing["interval"], case.truth["interval"])
            weight += w * 1.5
            matched = _matched_cycles(case, costs, timing)
            for cycles, true in matched:
                total += w * INSTANCE_WEIGHT / len(matched) * _log_error(cycles, true)
                weight += w * INSTANCE_WEIGHT / len(matched)
        return total / weight

    def _schedule(self, sweeps: int = 3) -> None:
        """Coordinate descent on the grid, every shared and per-family schedule coefficient."""
        loss = self._schedule_loss(self.c)
        keys = [(_scope(name, family), name) for name in SCHEDULE_GRID for family in FAMILIES]
        keys = list(dict.fromkeys(keys))  # shared ones once
        for _ in range(sweeps):
            improved = False
            for scope, name in keys:
                for value in SCHEDULE_GRID[name]:
                    trial = {**self.c, scope: {**self.c[scope], name: value}}
                    trial_loss = self._schedule_loss(trial)
                    if trial_loss < loss - 1e-12:
                        self.c, loss, improved = trial, trial_loss, True
            if not improved:
                break

    def _linear(self, metric: str) -> None:
        """A metric's coefficients, on the designs' totals and on every instance of the
        reports' per-instance tables matched to a layer (those pin each layer kind's terms):
        a robust least-squares fit of log(estimate / report), each coefficient pulled
        towards its prior."""
        from scipy.optimize import least_squares

        rows, truths, weights = [], [], []
        for case in self.cases:
            result = case.design().cost(self.family(case.tool))
            scoped = lambda terms: {(_scope(n, case.tool), n): a for n, a in terms.items()}  # noqa: E731
            rows.append(scoped(result["terms"][metric]))
            truths.append(case.truth[metric])
            weights.append(1.0)
            layers = _matched_layer_terms(case, result, metric)
            fifo = result["fifo_terms"][metric]
            if fifo and "FIFO" in case.breakdown:  # the FIFOs' own line of the utilisation summary
                layers.append((fifo, case.breakdown["FIFO"].get(metric, 0)))
            for terms, true in layers:
                rows.append(scoped(terms))
                truths.append(true)
                weights.append(INSTANCE_WEIGHT / len(layers))
        keys = sorted({key for row in rows for key in row if key[1] not in PHYSICAL})
        if not keys:
            return
        X = np.array([[row.get(key, 0.0) for key in keys] for row in rows])
        known = np.array([sum(PHYSICAL[name] * amount for (_, name), amount in row.items() if name in PHYSICAL) for row in rows])
        y = np.array(truths, dtype=float)
        w = np.sqrt(np.array(weights))
        prior = np.log([PRIORS[name] for _, name in keys])

        def residuals(logs):
            fit = w * np.log((X @ np.exp(logs) + known + 1.0) / (y + 1.0))
            return np.concatenate([fit, (logs - prior) / PRIOR_SIGMA])

        result = least_squares(residuals, prior, loss="soft_l1", f_scale=0.3, method="trf")
        for (scope, name), value in zip(keys, np.exp(result.x)):
            self.c[scope][name] = float(f"{value:.4g}")


def _matched_cycles(case, costs, timing) -> list[tuple[float, int]]:
    """(estimated cycles, the report's instance latency) of the layers matched to instances."""
    matches = _matches(case)
    return [(cycles, matches[cost.name]["latency_max"]) for cost, cycles in zip(costs, timing["cycles"])
            if cost.name in matches and matches[cost.name].get("latency_max") is not None]  # fmt: skip


def _matched_layer_terms(case, result: dict, metric: str) -> list[tuple[dict, float]]:
    """(a layer's terms of ``metric``, the report's value for its instance)."""
    matches = _matches(case)
    return [(layer["terms"][metric], matches[layer["name"]][metric]) for layer in result["layers"]
            if layer["name"] in matches and matches[layer["name"]].get(metric) is not None]  # fmt: skip


def _matches(case) -> dict:
    if not hasattr(case, "_matches"):
        case._matches = {layer["name"]: instance for layer, instance in fixtures.matched_instances(case)}
    return case._matches


def _dsp(case, c: dict) -> int:
    return sum(cost.dsp for cost in case.design().layer_costs(c))


def fit(cases: list) -> dict:
    """Coefficients (shared, and per tool family) fitted on ``cases``."""
    return Fit(cases).run()


# -- errors ------------------------------------------------------------------------------------------------


def predictions(cases: list, coefficients: dict) -> list[dict]:
    """One row per case: the estimate with the coefficients of its family, and the report."""
    rows = []
    for case in cases:
        result = case.design().estimate(estimate.family_coefficients(case.tool, coefficients))
        estimated = {metric: result[metric] for metric in METRICS}
        rows.append({"case": case.name, "network": case.network, "tool": case.tool, "estimate": estimated,
                     "report": {m: case.truth[m] for m in METRICS},
                     "error_pct": {m: error_pct(estimated[m], case.truth[m]) for m in METRICS}})  # fmt: skip
    return rows


def leave_one_network_out(cases: list, log=print) -> tuple[list[dict], list[dict]]:
    """Each network's reports estimated with coefficients fitted on all the other networks:
    the designs' totals, and term by term their layers against the reports' instances."""
    rows, instances = [], []
    networks = sorted({case.network for case in cases})
    for i, network in enumerate(networks):
        held = [case for case in cases if case.network == network]
        rest = [case for case in cases if case.network != network]
        coefficients = Fit(rest).run()
        rows += predictions(held, coefficients)
        instances += instance_rows(held, coefficients)
        log(f"  [{i + 1}/{len(networks)}] {network}")
    return rows, instances


def summary(rows: list[dict]) -> dict:
    """Per tool family and metric: median and worst absolute % error, and the count."""
    out = {}
    for family in FAMILIES:
        chosen = [row for row in rows if row["tool"] == family]
        out[family] = {
            metric: {"median": float(np.median([r["error_pct"][metric] for r in chosen])) if chosen else None,
                     "worst": float(np.max([r["error_pct"][metric] for r in chosen])) if chosen else None,
                     "n": len(chosen)}
            for metric in METRICS
        }  # fmt: skip
    return out


def instance_rows(cases: list, coefficients: dict) -> list[dict]:
    """Term by term: each layer matched to an instance of its report (the per-instance
    table), its estimated LUT, FF, DSP, BRAM and cycles against the instance's."""
    rows = []
    for case in cases:
        result = case.design().cost(estimate.family_coefficients(case.tool, coefficients))
        by_name = {layer["name"]: layer for layer in result["layers"]}
        for layer, instance in fixtures.matched_instances(case):
            estimated = by_name.get(layer["name"])
            if estimated is None or instance.get("LUT") is None:
                continue
            rows.append({"case": case.name, "tool": case.tool, "layer": layer["name"], "kind": fixtures.layer_kind(layer),
                         "estimate": {"LUT": estimated["LUT"], "FF": estimated["FF"], "DSP": estimated["DSP"],
                                      "BRAM_18K": estimated["BRAM_18K"], "cycles": estimated["cycles"]},
                         "report": {"LUT": instance["LUT"], "FF": instance["FF"], "DSP": instance["DSP"],
                                    "BRAM_18K": instance["BRAM_18K"], "cycles": instance.get("latency_max")}})  # fmt: skip
    return rows


def instance_summary(rows: list[dict]) -> dict:
    """Per tool family and layer kind: median absolute % error of each term."""
    out = {}
    for row in rows:
        entry = out.setdefault((row["tool"], row["kind"]), {m: [] for m in row["estimate"]})
        for metric, value in row["estimate"].items():
            true = row["report"][metric]
            if true is not None:
                entry[metric].append(error_pct(value, true))
    return {key: {m: (float(np.median(v)), len(v)) for m, v in metrics.items() if v} for key, metrics in sorted(out.items())}


def format_rows(rows: list[dict]) -> str:
    head = f"{'report':56s} {'tool':5s} " + " ".join(f"{m[:13]:>22s}" for m in METRICS)
    lines = [head]
    for row in rows:
        cells = " ".join(f"{row['estimate'][m]:>8.0f}/{row['report'][m]:<8.0f}{row['error_pct'][m]:5.0f}%" for m in METRICS)
        lines.append(f"{row['case'][:56]:56s} {row['tool'][:5]:5s} {cells}")
    return "\n".join(lines)


def format_summary(stats: dict) -> str:
    lines = [f"{'family':12s} {'n':>3s} " + " ".join(f"{m[:14]:>18s}" for m in METRICS)]
    for family, metrics in stats.items():
        n = next(iter(metrics.values()))["n"]
        cells = " ".join(f"{v['median']:7.1f} / {v['worst']:7.1f}" if v["median"] is not None else f"{'-':>17s}"
                         for v in metrics.values())  # fmt: skip
        lines.append(f"{family:12s} {n:3d} {cells}")
    return "\n".join(lines) + "\n(median / worst absolute % error)"


def load(paths: list[Path], log=print) -> list:
    cases = []
    for path in paths:
        found, skipped = fixtures.load_corpus(path)
        cases += found
        for skip in skipped:
            log(f"skipped {skip.name}: {skip.reason}")
        log(f"{path}: {len(found)} cases, {len(skipped)} reports skipped")
    return cases


def markdown_tables(rows: list[dict], instances: list[dict]) -> str:
    """The leave-one-network-out tables of docs/estimator.md."""
    stats = summary(rows)
    lines = ["| tool family | reports | metric | median abs % error | worst abs % error |", "| --- | --- | --- | --- | --- |"]
    for family, metrics in stats.items():
        for metric, v in metrics.items():
            lines.append(f"| {family} | {v['n']} | {metric} | {v['median']:.1f} | {v['worst']:.1f} |")
    lines += ["", "| tool family | layer kind | instances | LUT | FF | DSP | BRAM_18K | cycles |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for (family, kind), metrics in instance_summary(instances).items():
        n = max(count for _, count in metrics.values())
        cells = " | ".join(f"{metrics[m][0]:.0f}" if m in metrics else "-" for m in ("LUT", "FF", "DSP", "BRAM_18K", "cycles"))
        lines.append(f"| {family} | {kind} | {n} | {cells} |")
    lines += ["", "| report | family | " + " | ".join(METRICS) + " |", "| --- | --- | " + " | ".join("---" for _ in METRICS) + " |"]
    for row in rows:
        cells = " | ".join(f"{row['estimate'][m]:.0f} / {row['report'][m]:.0f} ({row['error_pct'][m]:.0f})" for m in METRICS)
        lines.append(f"| {row['case']} | {row['tool']} | {cells} |")
    return "\n".join(lines)


def calibration_record(coefficients: dict, rows: list[dict]) -> dict:
    stats = summary(rows)
    networks = {family: len({r["network"] for r in rows if r["tool"] == family}) for family in FAMILIES}
    return {
        "estimator_version": estimate.VERSION,
        "coefficients": coefficients,
        "errors": {family: {m: round(v["median"], 1) for m, v in metrics.items()} for family, metrics in stats.items()},
        "worst": {family: {m: round(v["worst"], 1) for m, v in metrics.items()} for family, metrics in stats.items()},
        "basis": {
            family: f"median absolute % error against {stats[family]['LUT']['n']} real "
                    f"{'Vivado HLS <= 2020.1' if family == 'vivado_hls' else 'Vitis HLS >= 2020.2'} reports "
                    f"({networks[family]} networks), each estimated with coefficients fitted without its network "
                    f"(leave-one-network-out)"
            for family in FAMILIES
        },  # fmt: skip
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fixtures", nargs="+", type=Path, help="HLS report fixture directories (with INDEX.csv)")
    parser.add_argument("--fit", action="store_true", help="refit and validate leave-one-network-out")
    parser.add_argument("--write", action="store_true", help="with --fit: store coefficients and errors in the package")
    parser.add_argument("--rows", action="store_true", help="print the per-report table")
    parser.add_argument("--markdown", action="store_true", help="with --fit: print the tables of docs/estimator.md")
    args = parser.parse_args(argv)
    cases = load(args.fixtures)
    print(f"estimator {estimate.VERSION}: {len(cases)} cases")
    if not args.fit:
        rows = predictions(cases, estimate.COEFFICIENTS)
        print(format_rows(rows) if args.rows else "")
        print("with the stored coefficients (fitted on all reports, so not a validation):")
        print(format_summary(summary(rows)))
        return
    rows, instances = leave_one_network_out(cases)
    if args.rows:
        print(format_rows(rows))
    if args.markdown:
        print(markdown_tables(rows, instances))
    print("leave-one-network-out:")
    print(format_summary(summary(rows)))
    coefficients = fit(cases)
    if args.write:
        record = calibration_record(coefficients, rows)
        estimate.CALIBRATION_FILE.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {estimate.CALIBRATION_FILE}")


if __name__ == "__main__":
    main()
