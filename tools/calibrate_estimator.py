"""Calibrate the estimator on real HLS reports and measure its error.

    python -m hlsnake.synth.calibrate          # per-fixture errors and the summary
    python -m hlsnake.synth.calibrate --fit    # refit COEFFICIENTS on the training networks

Every report in ``fixtures/hls_reports`` whose project kept its Keras model, its hls4ml
config and its weights becomes a case: the model is converted with hls4ml using the
project's settings (``hls4ml_config.yml``; the reuse factor, clock and multiplier binding
that were synthesised, from INDEX.csv and SOURCE.json), described with
:func:`hlsnake.hls.describe` with the weights the synthesised firmware holds, and
estimated; the truth is the report, read with :mod:`hlsnake.synth.hls_reports`.

The split is by network (:data:`NETWORKS`), so that no network is in both halves.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ..config import REPO_ROOT
from . import estimate, hls_reports

FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "hls_reports"
METRICS = ("LUT", "FF", "DSP", "latency")

# Fixture directory prefix -> (network, half). One network is one trained model, whatever
# the settings it was synthesised with; the halves share no network.
NETWORKS = {
    "ArgyKokk__hls4ml_MLP_estimator__cardio_": ("cardio MLP 21-3-3, 8-bit QKeras", "train"),
    "ArgyKokk__hls4ml_MLP_estimator__jet_tagging_": ("jet MLP 16-64-32-32-5, 8-bit QKeras", "train"),
    "pominiq__DNNonSilicon__mlp_": ("iris MLP 4-128-3, float", "train"),
    "pominiq__DNNonSilicon__mnist_cnn_": ("MNIST CNN, float", "train"),
    "Brainz22__L1JetTagger__": ("L1 jet tagger, pointwise Conv1D, 8-bit QKeras", "train"),
    "ArgyKokk__hls4ml_MLP_estimator__breast_cancer_": ("breast-cancer MLP 10-5-3-2, 8-bit QKeras", "held_out"),
    "Thifjj__Iris_hls4ml_pynqZ2__": ("iris MLP 4-8-8-3, float", "held_out"),
    "astitwlathe__example-hls4ml__": ("jet MLP 16-64-32-32-5, float", "held_out"),
    "seanlipps__ECE226_CoDesign__conv1d_": ("HAR Conv1D, float", "held_out"),
    "ChiRuiChen__AutoEncoder_hls4ml__": ("conv autoencoder, Resource strategy", "held_out"),
}

# Where a fixture's own files disagree with what was synthesised, the report decides:
# * ArgyKokk: the report's module names (dense_latency_ap_fixed_8_2_..._ap_fixed_16_4_...)
#   show an ap_fixed<8,2> input and ap_fixed<16,4> Dense results, not the <16,6> of the
#   hls4ml_config.yml (defines.h was edited after conversion, like parameters.h).
# * Brainz22: hls4ml numbered the pointwise Conv1D layers after the Dense ones (instances
#   pointwise_conv_1d_cl_..._config15/16, dense_latency_..._config9/12), so the weight
#   files are not in layer order.
PRECISION_FIXES = {"ArgyKokk__": {"input": "fixed<8,2>", "Dense": "fixed<16,4>"}}
WEIGHT_FILE_ORDER = {"Brainz22__L1JetTagger__jet_tagger": (15, 16, 9, 12)}


class FixtureError(RuntimeError):
    pass


@dataclass
class Case:
    name: str
    network: str
    half: str
    layers: list[dict]
    weights: dict[str, np.ndarray]
    clock_ns: float
    mul_impl: str
    tool: str
    truth: dict
    notes: list[str] = field(default_factory=list)

    def estimate(self, coefficients: dict | None = None) -> dict:
        return estimate.estimate(
            self.layers, self.weights, self.clock_ns, coefficients, mul_impl=self.mul_impl, tool=self.tool
        )


def network_of(name: str) -> tuple[str, str] | None:
    return next((value for prefix, value in NETWORKS.items() if name.startswith(prefix)), None)


def index_rows(fixtures: Path = FIXTURES) -> list[dict]:
    index = Path(fixtures) / "INDEX.csv"
    if not index.is_file():
        raise FixtureError(f"{index} not found (the HLS report fixtures live in ../shared/fixtures/hls_reports)")
    with index.open(newline="") as f:
        return list(csv.DictReader(f))


# -- the Keras model as synthesised --------------------------------------------------------


class _IgnoreTags(yaml.SafeLoader):
    """hls4ml_config.yml tags its model path with !keras_model; the path is not needed."""


_IgnoreTags.add_multi_constructor("!", lambda loader, suffix, node: None)


def _keras3_to_2(obj):
    """A Keras 3 layer config as tf_keras reads it (no module paths, plain dtype names)."""
    if isinstance(obj, list):
        return [_keras3_to_2(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if obj.get("class_name") == "DTypePolicy":
        return obj["config"]["name"]
    drop = ("module", "registered_name", "build_config", "inbound_nodes", "quantization_config", "optional")
    out = {k: _keras3_to_2(v) for k, v in obj.items() if k not in drop}
    if "batch_shape" in out:
        out["batch_input_shape"] = out.pop("batch_shape")
    return out


def _layer_configs(fixture: Path) -> list[dict]:
    """The model's layers (class_name, config) in order, from whichever file the project kept."""
    if (fixture / "keras_model.h5").is_file():
        import h5py

        with h5py.File(fixture / "keras_model.h5", "r") as f:
            model_config = f.attrs.get("model_config")
        if model_config is None:
            raise FixtureError(f"{fixture}/keras_model.h5 holds weights only (no model_config)")
        config = json.loads(model_config)
    elif (fixture / "keras_model.keras").is_file():
        with zipfile.ZipFile(fixture / "keras_model.keras") as z:
            config = _keras3_to_2(json.loads(z.read("config.json")))
    else:
        found = sorted((fixture / "keras").glob("*.json"))
        if not found:
            raise FixtureError(f"{fixture}: no Keras model (keras_model.h5, keras_model.keras or keras/*.json)")
        config = json.loads(found[0].read_text())
    return [{"class_name": layer["class_name"], "config": layer["config"]} for layer in config["config"]["layers"]]


def _read_weights(path: Path) -> np.ndarray:
    return np.array([float(v) for v in re.split(r"[,\s]+", path.read_text()) if v])


def _firmware_weights(fixture: Path) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """(weights, biases) per weighted layer, in layer order, from firmware/weights/w<i>.txt."""
    files = {int(p.stem[1:]): p for p in (fixture / "firmware" / "weights").glob("w*.txt") if p.stem[1:].isdigit()}
    order = WEIGHT_FILE_ORDER.get(fixture.name, sorted(files))
    out = []
    for i in order:
        bias = fixture / "firmware" / "weights" / f"b{i}.txt"
        out.append((_read_weights(files[i]), _read_weights(bias) if bias.is_file() else None))
    return out


def _synthesised_model(fixture: Path, configs: list[dict]):
    """The Keras model with the firmware's weights; Dense widths follow the firmware where the
    kept model is stale (a different training run with other layer widths)."""
    from ..kerasenv import custom_objects, keras

    firmware = _firmware_weights(fixture)
    objects = custom_objects()
    patched = []
    while True:  # one layer at a time: a wider layer changes the inputs of the next
        with keras.utils.custom_object_scope(objects):
            model = keras.Sequential.from_config({"name": "synthesised", "layers": configs})
        weighted = [layer for layer in model.layers if layer.get_weights()]
        if len(weighted) != len(firmware):
            raise FixtureError(f"{fixture}: {len(weighted)} layers with weights, {len(firmware)} weight files")
        stale = [(l, w.size) for l, (w, _) in zip(weighted, firmware) if l.get_weights()[0].size != w.size]
        if not stale:
            break
        layer, size = stale[0]
        n_in = int(layer.input_shape[-1])
        if "units" not in layer.get_config() or size % n_in or layer.name in patched:
            raise FixtureError(f"{fixture}: layer {layer.name} of the Keras model does not match the firmware weights")
        next(c["config"] for c in configs if c["config"]["name"] == layer.name)["units"] = size // n_in
        patched.append(layer.name)
    for layer, (w, b) in zip(weighted, firmware):
        values = layer.get_weights()
        values[0] = w.reshape(values[0].shape)
        if len(values) > 1 and b is not None:
            values[1] = b.reshape(values[1].shape)
        layer.set_weights(values)
    return model, patched


def _hls_settings(fixture: Path, layer_configs: list[dict]) -> dict:
    config = yaml.load((fixture / "hls4ml_config.yml").read_text(), Loader=_IgnoreTags)
    names = config["HLSConfig"].setdefault("LayerName", {})
    for layer in names.values():
        layer.pop("ConvImplementation", None)  # a string in older hls4ml; not what the estimator looks at
    fixes = next((f for prefix, f in PRECISION_FIXES.items() if fixture.name.startswith(prefix)), {})
    for layer in layer_configs:
        kind = "input" if layer["class_name"] == "InputLayer" else layer["class_name"].lstrip("Q")
        if kind in fixes:
            names.setdefault(layer["config"]["name"], {}).setdefault("Precision", {})["result"] = fixes[kind]
    return {
        "hls_config": config["HLSConfig"],
        "backend": config.get("Backend", "Vivado").replace("Accelerator", ""),
        "io_type": config.get("IOType", "io_parallel"),
        "part": config.get("Part"),
    }


def _mul_impl(fixture: Path) -> str:
    source = json.loads((fixture / "SOURCE.json").read_text())
    for directive in source.get("tool_settings", {}).get("build_prj.tcl directives", []):
        match = re.fullmatch(r"config_op mul -impl (\w+)", directive.strip())
        if match:
            return match[1]
    return "auto"


def _reuse_factors(row: dict) -> list[int]:
    return [int(v) for v in row["reuse_factor"].split(";")]


def load_case(row: dict, fixtures: Path = FIXTURES) -> Case:
    """Convert one fixture's model as it was synthesised and describe it for the estimator."""
    from .. import hls  # first: it registers tf_keras as keras before hls4ml loads
    import hls4ml

    fixture = Path(fixtures) / row["dir"]
    network, half = network_of(row["dir"])
    configs = _layer_configs(fixture)
    model, patched = _synthesised_model(fixture, configs)
    settings = _hls_settings(fixture, configs)
    report = hls_reports.read_project(fixture)
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        hls_model = hls4ml.converters.convert_from_keras_model(
            model,
            hls_config=settings["hls_config"],
            output_dir=tmp,
            backend=settings["backend"],
            io_type=settings["io_type"],
            part=settings["part"],
            clock_period=report["clock_target_ns"],
        )
    layers, weights = hls.describe(hls_model)
    notes = [f"Dense widths from the firmware: {', '.join(patched)}"] if patched else []
    synthesised = _reuse_factors(row)
    weighted = [layer for layer in layers if layer["name"] in weights]
    if len(synthesised) == 1:  # parameters.h was edited in some projects: take what was synthesised
        for layer in weighted:
            layer["reuse_factor"] = synthesised[0]
    elif sorted({layer["reuse_factor"] for layer in weighted}) != sorted(set(synthesised)):
        notes.append(
            f"reuse factors {sorted({l['reuse_factor'] for l in weighted})} differ from the synthesised {synthesised}"
        )
    truth = {
        "LUT": report["LUT"],
        "FF": report["FF"],
        "DSP": report["DSP"],
        "latency": report["latency_worst"],
    }
    clock = report["clock_target_ns"]
    return Case(row["dir"], network, half, layers, weights, clock, _mul_impl(fixture), report["tool"], truth, notes)


def load_cases(fixtures: Path = FIXTURES) -> list[Case]:
    """Every fixture with a Keras model, an hls4ml config and weights, in INDEX.csv order."""
    cases = []
    for row in index_rows(fixtures):
        fixture = Path(fixtures) / row["dir"]
        usable = row["has_keras_model"] == "y" and (fixture / "hls4ml_config.yml").is_file()
        if usable and network_of(row["dir"]) is None:
            raise FixtureError(f"{row['dir']} is not assigned to a network in calibrate.NETWORKS")
        if usable:
            cases.append(load_case(row, fixtures))
    return cases


# -- errors ----------------------------------------------------------------------------------


def _estimated(result: dict) -> dict:
    return {"LUT": result["LUT"], "FF": result["FF"], "DSP": result["DSP"], "latency": result["latency_cycles"]}


def error_pct(estimated: float, true: float) -> float:
    """Absolute error in % of the report's value (of 1 where the report says 0, e.g. 0 DSPs)."""
    return abs(estimated - true) / max(true, 1) * 100.0


def evaluate(cases: list[Case], coefficients: dict | None = None) -> list[dict]:
    """One row per case: the estimate, the report and the % error of each metric."""
    rows = []
    for case in cases:
        est = _estimated(case.estimate(coefficients))
        row = {"case": case.name, "half": case.half, "network": case.network}
        for metric in METRICS:
            row[metric] = (est[metric], case.truth[metric], error_pct(est[metric], case.truth[metric]))
        rows.append(row)
    return rows


def summary(rows: list[dict], half: str) -> dict:
    """Median and worst absolute % error per metric over one half (train or held_out)."""
    chosen = [row for row in rows if row["half"] == half]
    out = {}
    for metric in METRICS:
        errors = [row[metric][2] for row in chosen]
        out[metric] = {"median": float(np.median(errors)), "worst": float(np.max(errors)), "n": len(errors)}
    return out


# -- fit ---------------------------------------------------------------------------------------

# Coefficients fitted per metric, in this order (later metrics depend on earlier ones):
# integer ones on a grid, the others by Nelder-Mead on log scale. A coefficient is named by
# its path in COEFFICIENTS (the tool-specific ones sit under the tool's name).
_TOOLS = ("vitis_hls", "vivado_hls")
GRIDS = {
    "DSP": {("mult_min_digits",): range(2, 6), ("dsp_min_input_bits",): range(6, 19), ("dsp_min_weight_bits",): range(4, 19)},
    # per tool, on that tool's reports (latency is a step function of these: no gradients)
    **{
        ("latency", tool): {
            (tool, "add_ns"): [0.25 * i for i in range(2, 17)],
            (tool, "dsp_ns"): range(0, 13),
            (tool, "layer_cycles"): range(0, 3),
        }
        for tool in _TOOLS
    },
}
CONTINUOUS = {
    "LUT": [(name,) for name in ("lut_fabric_mult", "lut_per_dsp_mult", "lut_per_act_bit", "lut_per_pool_bit",
                                 "lut_per_softmax", "lut_per_mux_bit", "lut_per_fifo_bit")],  # fmt: skip
    "FF": [("ff_per_fifo_bit",)] + [(tool, name) for tool in _TOOLS for name in ("ff_per_stage_bit", "ff_per_lut", "ff_per_dsp")],
}


def _get(coefficients: dict, path: tuple):
    for key in path:
        coefficients = coefficients[key]
    return coefficients


def _with(coefficients: dict, values: dict) -> dict:
    """A copy of ``coefficients`` with the values at the given paths replaced."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in coefficients.items()}
    for path, value in values.items():
        (out[path[0]] if len(path) == 2 else out)[path[-1]] = value
    return out


# The starting values of the continuous coefficients, and where they come from: the
# per-instance tables of the *training* reports (LUTs and FFs of each layer's module).
# The fit may move them (log-normal prior of width PRIOR_SIGMA): the totals alone do not
# tell e.g. pooling LUTs from convolution LUTs apart, the priors keep each one plausible.
PRIORS = {
    ("lut_fabric_mult",): 1.7,  # cardio: fc1 LUTs with -impl fabric vs -impl dsp, per true multiplication
    ("lut_per_dsp_mult",): 8.0,  # jet (8-bit) ~6, iris 4-128-3 and MNIST (16-bit) ~10-12 LUTs per DSP product
    ("lut_per_act_bit",): 3.0,  # ReLU modules: 1.5 (L1 tagger) to 4.6 (MNIST, io_stream) per element and bit
    ("lut_per_pool_bit",): 3.8,  # MNIST max pooling modules: 3.8-3.9
    ("lut_per_softmax",): 138.0,  # cardio 135, jet 141, iris 4-128-3 120 per output (MNIST io_stream: 309)
    ("lut_per_mux_bit",): 2.0,  # L1 tagger pointwise Conv1D modules: 1.4-3
    ("lut_per_fifo_bit",): 1.9,  # MNIST FIFOs
    ("vitis_hls", "ff_per_dsp"): 10.0,
    ("vivado_hls", "ff_per_dsp"): 10.0,
    ("vitis_hls", "ff_per_lut"): 0.5,  # cardio/jet ReLU modules: 0.6 FF per LUT
    ("vivado_hls", "ff_per_lut"): 0.1,  # L1 tagger, iris 4-128-3 ReLU modules: 0-0.1
    ("ff_per_fifo_bit",): 0.8,  # MNIST FIFOs
    ("vitis_hls", "ff_per_stage_bit"): 0.3,  # jet Dense modules: 0.22-0.27 per product bit and stage
    ("vivado_hls", "ff_per_stage_bit"): 0.1,  # iris 4-128-3: 0.09
    # latency (a 16-bit adder on a carry chain, a registered DSP48, one register per layer)
    **{(tool, "add_ns"): 1.5 for tool in _TOOLS},
    **{(tool, "dsp_ns"): 4.0 for tool in _TOOLS},
    **{(tool, "layer_cycles"): 1 for tool in _TOOLS},
}
PRIOR_SIGMA = 0.5


def _loss(cases: list[Case], coefficients: dict, metric: str) -> float:
    """Mean |log ratio| of estimate to report: relative errors, robust to the wide range of sizes."""
    total = 0.0
    for case in cases:
        est = _estimated(case.estimate(coefficients))[metric]
        total += abs(math.log((est + 1.0) / (case.truth[metric] + 1.0)))
    return total / len(cases)


def _fit_grid(cases, coefficients: dict, metric: str, grid: dict) -> dict:
    """Best grid point; where several are equally good (the data do not tell them apart),
    the one nearest the priors, or (no priors) the middle of the tied values of each one."""
    import itertools

    losses = {values: _loss(cases, _with(coefficients, dict(zip(grid, values))), metric) for values in itertools.product(*grid.values())}
    best = min(losses.values())
    tied = [values for values, loss in losses.items() if loss <= best + 1e-12]
    if all(path in PRIORS for path in grid):  # the tied point nearest the prior
        chosen = min(tied, key=lambda v: sum(abs(math.log((x + 0.5) / (PRIORS[p] + 0.5))) for p, x in zip(grid, v)))
    else:
        middle = tuple(sorted(values[i] for values in tied)[len(tied) // 2] for i in range(len(grid)))
        chosen = middle if losses.get(middle, math.inf) <= best + 1e-12 else tied[0]
    return _with(coefficients, dict(zip(grid, chosen)))


def _fit_continuous(cases, coefficients: dict, metric: str) -> dict:
    from scipy.optimize import minimize

    paths = CONTINUOUS[metric]
    start = np.log([PRIORS[path] for path in paths])

    def loss(logs):
        prior = np.sum(((logs - start) / PRIOR_SIGMA) ** 2) / 2 / len(cases)
        return _loss(cases, _with(coefficients, dict(zip(paths, np.exp(logs)))), metric) + prior

    result = minimize(loss, start, method="Nelder-Mead", options={"maxiter": 400 * len(paths), "xatol": 1e-3, "fatol": 1e-5})
    return _with(coefficients, {path: float(round(v, 3)) for path, v in zip(paths, np.exp(result.x))})


def fit(cases: list[Case]) -> dict:
    """Coefficients fitted on the training half only."""
    train = [case for case in cases if case.half == "train"]
    coefficients = _with(estimate.COEFFICIENTS, {})
    coefficients = _fit_grid(train, coefficients, "DSP", GRIDS["DSP"])
    coefficients = _fit_continuous(train, coefficients, "LUT")
    for tool in _TOOLS:
        ran_on = [case for case in train if case.tool == tool]
        coefficients = _fit_grid(ran_on, coefficients, "latency", GRIDS["latency", tool])
    return _fit_continuous(train, coefficients, "FF")


# -- report ------------------------------------------------------------------------------------


def format_table(rows: list[dict]) -> str:
    lines = [f"{'case':58s} {'half':8s} " + " ".join(f"{m + ' est/report (err%)':>30s}" for m in METRICS)]
    for row in rows:
        cells = " ".join(f"{row[m][0]:>10.0f} / {row[m][1]:<10.0f}({row[m][2]:6.1f})" for m in METRICS)
        lines.append(f"{row['case'][:58]:58s} {row['half']:8s} {cells}")
    for half in ("train", "held_out"):
        stats = summary(rows, half)
        cells = " ".join(f"{'median ' + format(s['median'], '.1f') + ' worst ' + format(s['worst'], '.1f'):>30s}" for s in stats.values())
        lines.append(f"{'summary: ' + half + ' (' + str(stats['LUT']['n']) + ' reports)':58s} {'':8s} {cells}")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hlsnake.synth.calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", type=Path, default=FIXTURES, help="the hls_reports fixtures directory")
    parser.add_argument("--fit", action="store_true", help="refit the coefficients on the training half and print them")
    args = parser.parse_args(argv)
    cases = load_cases(args.fixtures)
    coefficients = None
    if args.fit:
        coefficients = fit(cases)
        print("fitted COEFFICIENTS (training half only):")
        print(json.dumps(coefficients, indent=4))
    for case in cases:
        for note in case.notes:
            print(f"note: {case.name}: {note}")
    print(f"estimator {estimate.VERSION}; split by network: {sum(c.half == 'train' for c in cases)} training reports, "
          f"{sum(c.half == 'held_out' for c in cases)} held out")  # fmt: skip
    print(format_table(evaluate(cases, coefficients)))


if __name__ == "__main__":
    main()
