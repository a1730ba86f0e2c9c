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
    truth: dict
    notes: list[str] = field(default_factory=list)

    def estimate(self, coefficients: dict | None = None) -> dict:
        return estimate.estimate(self.layers, self.weights, self.clock_ns, coefficients, mul_impl=self.mul_impl)


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
    from .. import hls  # noqa: F401  (registers tf_keras as keras before hls4ml loads)
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
    return Case(row["dir"], network, half, layers, weights, report["clock_target_ns"], _mul_impl(fixture), truth, notes)


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
