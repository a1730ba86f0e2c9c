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
   coefficient (the tables cannot tell all terms apart on their own).

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
LINEAR = ("LUT", "FF", "BRAM_18K")

# -- 1. binding of the multiplications ---------------------------------------------------------------

BINDING_GRID = {"mult_min_digits": (2, 3, 4), "dsp_min_input_bits": range(4, 20), "dsp_min_const_bits": range(2, 19)}

# -- 2. the schedule ------------------------------------------------------------------------------------

SCHEDULE_GRID = {
    "delay_add": [round(0.1 * i, 2) for i in range(2, 21)],
    "delay_dsp": [round(0.25 * i, 2) for i in range(2, 25)],
    "delay_act": [round(0.1 * i, 2) for i in range(1, 21)],
    "speed_7series": [round(0.1 * i, 2) for i in range(8, 41)],
    "speed_ultrascale": [round(0.1 * i, 2) for i in range(8, 31)],
    "table_cycles": [0, 1, 2, 3, 4],
    "resource_cycles": list(range(0, 8)),
    "recurrent_step_cycles": list(range(0, 30)),
    "layer_register_cycles": [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2],
    "top_cycles": [0, 1, 2, 3, 4],
    "stream_conv_ii": [1, 2, 3, 4],
    "stream_resource_ii": list(range(0, 20)),
}
INSTANCE_WEIGHT = 0.5  # weight of the per-instance latency residuals against the designs' totals

# -- 3. linear terms: the prior of each coefficient (from the per-module tables) ----------------------

PRIOR_SIGMA = 1.0  # in log units: a coefficient may move ~e-fold from its prior before the prior weighs


def _log_error(estimated, true) -> float:
    return abs(math.log((estimated + 1.0) / (true + 1.0)))


def error_pct(estimated: float, true: float) -> float:
    """Absolute error in % of the report's value (of 1 where the report says 0, e.g. no DSPs)."""
    return abs(estimated - true) / max(true, 1) * 100.0


class Fit:
    """Coefficients of one tool family fitted on a set of cases."""

    def __init__(self, cases: list, family: str, start: dict | None = None):
        self.cases = [case for case in cases if case.tool == family]
        self.family = family
        self.c = dict(start or estimate.COEFFICIENTS[family])

    def run(self) -> dict:
        if not self.cases:
            return self.c
        self._binding()
        self._schedule()
        for metric in LINEAR:
            self._linear(metric)
        return self.c

    def _binding(self) -> None:
        best = None
        prior = {k: self.c[k] for k in BINDING_GRID}
        for md in BINDING_GRID["mult_min_digits"]:
            for bx in BINDING_GRID["dsp_min_input_bits"]:
                for bc in BINDING_GRID["dsp_min_const_bits"]:
                    point = {"mult_min_digits": md, "dsp_min_input_bits": bx, "dsp_min_const_bits": bc}
                    loss = np.mean([_log_error(_dsp(case, {**self.c, **point}), case.truth["DSP"]) for case in self.cases])
                    distance = sum(abs(point[k] - prior[k]) for k in point)  # ties: nearest the prior
                    if best is None or (round(loss, 9), distance) < best[0]:
                        best = ((round(loss, 9), distance), point)
        self.c.update(best[1])

    def _schedule_loss(self, c: dict) -> float:
        total, weight = 0.0, 0.0
        for case in self.cases:
            design = case.design()
            costs = design.layer_costs(c)
            timing = design.schedule(costs, c)
            total += _log_error(timing["latency_cycles"], case.truth["latency_cycles"])
            total += 0.5 * _log_error(timing["interval"], case.truth["interval"])
            weight += 1.5
            matched = _matched_cycles(case, costs, timing)
            for cycles, true in matched:
                total += INSTANCE_WEIGHT / len(matched) * _log_error(cycles, true)
                weight += INSTANCE_WEIGHT / len(matched)
        return total / weight

    def _schedule(self, sweeps: int = 3) -> None:
        loss = self._schedule_loss(self.c)
        for _ in range(sweeps):
            improved = False
            for name, grid in SCHEDULE_GRID.items():
                for value in grid:
                    trial = {**self.c, name: value}
                    trial_loss = self._schedule_loss(trial)
                    if trial_loss < loss - 1e-12:
                        self.c, loss, improved = trial, trial_loss, True
            if not improved:
                break

    def _linear(self, metric: str) -> None:
        from scipy.optimize import least_squares

        rows, truths = [], []
        for case in self.cases:
            rows.append(case.design().cost(self.c)["terms"][metric])
            truths.append(case.truth[metric])
        names = sorted({name for row in rows for name in row})
        if not names:
            return
        X = np.array([[row.get(name, 0.0) for name in names] for row in rows])
        y = np.array(truths, dtype=float)
        prior = np.array([max(self.c.get(name, 1.0), 1e-3) for name in names])

        def residuals(logs):
            values = np.exp(logs)
            fit = np.log((X @ values + 1.0) / (y + 1.0))
            return np.concatenate([fit, (logs - np.log(prior)) / PRIOR_SIGMA / math.sqrt(len(y))])

        result = least_squares(residuals, np.log(prior), loss="soft_l1", f_scale=0.3, method="trf")
        self.c.update({name: float(f"{v:.4g}") for name, v in zip(names, np.exp(result.x))})


def _dsp(case, c: dict) -> int:
    return sum(cost.dsp for cost in case.design().layer_costs(c))


def _matched_cycles(case, costs, timing) -> list[tuple[float, int]]:
    """(estimated cycles, the report's instance latency) of the layers matched to instances."""
    if not hasattr(case, "_matches"):
        case._matches = {layer["name"]: instance for layer, instance in fixtures.matched_instances(case)}
    out = []
    for cost, cycles in zip(costs, timing["cycles"]):
        instance = case._matches.get(cost.name)
        if instance is not None and instance.get("latency_max") is not None:
            out.append((cycles, instance["latency_max"]))
    return out


def fit(cases: list) -> dict:
    """Coefficients of both tool families, fitted on ``cases``."""
    return {family: Fit(cases, family).run() for family in FAMILIES}


# -- errors ------------------------------------------------------------------------------------------------


def predictions(cases: list, coefficients: dict) -> list[dict]:
    """One row per case: the estimate with the coefficients of its family, and the report."""
    rows = []
    for case in cases:
        result = case.design().cost(coefficients[case.tool])
        estimated = {metric: result[metric] for metric in METRICS}
        rows.append({"case": case.name, "network": case.network, "tool": case.tool, "estimate": estimated,
                     "report": {m: case.truth[m] for m in METRICS},
                     "error_pct": {m: error_pct(estimated[m], case.truth[m]) for m in METRICS}})  # fmt: skip
    return rows


def leave_one_network_out(cases: list, log=print) -> list[dict]:
    """Each network's reports estimated with coefficients fitted on all the other networks."""
    rows = []
    networks = sorted({case.network for case in cases})
    for i, network in enumerate(networks):
        held = [case for case in cases if case.network == network]
        rest = [case for case in cases if case.network != network]
        families = {case.tool for case in held}
        coefficients = {family: Fit(rest, family).run() if family in families else estimate.COEFFICIENTS[family] for family in FAMILIES}
        rows += predictions(held, coefficients)
        log(f"  [{i + 1}/{len(networks)}] {network}")
    return rows


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
        result = case.design().cost(coefficients[case.tool])
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
        cells = " ".join(f"{v['median']:7.1f} / {v['worst']:7.1f}" if v["median"] is not None else f"{'-':>17s}" for v in metrics.values())
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
    args = parser.parse_args(argv)
    cases = load(args.fixtures)
    print(f"estimator {estimate.VERSION}: {len(cases)} cases")
    if not args.fit:
        rows = predictions(cases, estimate.COEFFICIENTS)
        print(format_rows(rows) if args.rows else "")
        print("with the stored coefficients (fitted on all reports, so not a validation):")
        print(format_summary(summary(rows)))
        return
    rows = leave_one_network_out(cases)
    if args.rows:
        print(format_rows(rows))
    print("leave-one-network-out:")
    print(format_summary(summary(rows)))
    coefficients = fit(cases)
    if args.write:
        record = calibration_record(coefficients, rows)
        estimate.CALIBRATION_FILE.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {estimate.CALIBRATION_FILE}")


if __name__ == "__main__":
    main()
