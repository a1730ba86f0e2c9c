"""Real HLS reports as test cases for hlsnake's estimator (developer tool, not runtime code).

A fixture directory (``../shared/fixtures/hls_reports``, ``.../hls_reports_more``) holds one
hls4ml project per sub-directory, listed in its ``INDEX.csv``: the Vivado/Vitis HLS reports,
the project's ``hls4ml_config.yml``, usually the Keras model and the firmware weights.
:func:`load_corpus` turns every report whose project kept a Keras model into a
:class:`Case`: the model is rebuilt with the weights that were synthesised, converted with
hls4ml 1.3 using the project's own settings (the reuse factor, clock and multiplier binding
that were synthesised, from ``INDEX.csv`` and ``SOURCE.json``), and described with
:func:`hlsnake.hls.describe`; the truth is the report, read with
:mod:`hlsnake.synth.hls_reports`. A report that cannot become a case is returned as a
:class:`Skipped` with the reason.

Only the paths given on the command line (or by the tests) are read: nothing here knows
where the fixtures live.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import json
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from hlsnake import hls  # first: registers tf_keras as keras before hls4ml loads
from hlsnake.kerasenv import custom_objects, keras
from hlsnake.synth import estimate, hls_reports

import hls4ml  # noqa: E402

# One network = one trained model (or one architecture of one repository where its
# reports are sibling trainings of it), whatever settings it was synthesised with.
# Leave-one-network-out validation leaves all of a network's reports out together.
NETWORKS = {
    "ArgyKokk__hls4ml_MLP_estimator__cardio_": "cardio MLP 21-3-3, 8-bit QKeras",
    "ArgyKokk__hls4ml_MLP_estimator__jet_tagging_": "jet MLP 16-64-32-32-5, 8-bit QKeras",
    "ArgyKokk__hls4ml_MLP_estimator__breast_cancer_": "breast-cancer MLP 10-5-3-2, 8-bit QKeras",
    "pominiq__DNNonSilicon__mlp_": "iris MLP 4-128-3, float",
    "pominiq__DNNonSilicon__mnist_cnn_": "MNIST CNN, float, io_stream",
    "Brainz22__L1JetTagger__": "L1 jet tagger, pointwise Conv1D, 8-bit QKeras",
    "Thifjj__Iris_hls4ml_pynqZ2__": "iris MLP 4-8-8-3, float",
    "astitwlathe__example-hls4ml__": "jet MLP 16-64-32-32-5, float",
    "seanlipps__ECE226_CoDesign__conv1d_": "HAR Conv1D, float",
    "ChiRuiChen__AutoEncoder_hls4ml__": "conv autoencoder, 32-bit, Resource",
    # the 'src_cnn_small' project is the same 53-24-12-1 QKeras MLP as 'alex_model_mlp'
    "Alezander9__ML_FPGAonPixel__alex_model_mlp": "pixel MLP 53-24-12-1, BatchNorm, QKeras",
    "Alezander9__ML_FPGAonPixel__src_cnn_small": "pixel MLP 53-24-12-1, BatchNorm, QKeras",
    "Alezander9__ML_FPGAonPixel__package_pruned_cnn": "pixel two-branch CNN 2/4 filters, pruned, QKeras",
    "Alezander9__ML_FPGAonPixel__src_cnn_large": "pixel two-branch CNN 8/13 filters, QKeras, Resource",
    "Kenny-Jia__ToyVAE__": "VAE encoder 57-32-16-3, 32-bit",
    "MuhammadAshraful__CNN-in-FPGA-hls4ml__": "MNIST Conv2D + Dense, 6-bit, RF 128",
    "Spehic__Diplomska-hls4ml__": "MNIST CNN, 4-bit QKeras, pruned, Resource",
    "calwilee__hls4ml-automated-testing__": "SeparableConv2D + Dense",
    "camillaMiao__Hls-and-bambu__": "single Dense 16-4, 16-bit",
    "jeanleos__umons__qkeras_unet_depth": "U-Net 64x64, 4-bit QKeras, BatchNorm",
    "jeanleos__umons__unet_pynqz2_resource": "U-Net 32x32, float, Resource",
    "k-diep__CE6370__": "MLP 400-10-10-10, 6-bit QKeras",
    "kimhaneal11__hls4ml_practice__": "MLP 10-64-32-1, 6-bit QKeras",
    "mbavier__HLS4ML_VerilogAndC__": "tiny CNN, io_stream",
    "moinuddin-ahamed__CTRF-HLS__simple_bds_": "MLP 16-32-16-8-2, RF 4",
    "moinuddin-ahamed__CTRF-HLS__simple_obds_": "MLP 16-24-12-2, RF 4",
    "uw-acme__HLS4ML_-NeutDetector__": "neutrino Conv1D, Resource",
    "uw-acme__HLS4ML_VS_MANUAL__rheed_": "RHEED CNN, 8-bit QKeras, Resource",
    "uw-acme__HLS4ML_VS_MANUAL__toptag_gru": "top-tagging GRU",
    "uw-acme__HLS4ML_VS_MANUAL__toptag_lstm": "top-tagging LSTM",
    "YanLunHuang__": "single Conv2D (modified hls4ml)",
    "fastmachinelearning__hls4ml-tutorial__": "SVHN CNN (hls4ml tutorial)",
    "thaarres__dnd_hls4ml__": "4-bit QKeras MLP",
}

# Where a fixture's own files disagree with what was synthesised, the report decides:
# ArgyKokk's report module names (dense_latency_ap_fixed_8_2_..._ap_fixed_16_4_...) show an
# ap_fixed<8,2> input and ap_fixed<16,4> Dense results, not the <16,6> of hls4ml_config.yml
# (defines.h was edited after conversion, like parameters.h).
PRECISION_FIXES = {
    "ArgyKokk__": {"input": "fixed<8,2>", "Dense": "fixed<16,4>"},
    # its report's first Dense is dense_latency_ap_fixed_16_6_..., not the ap_uint<1> input of its config
    "k-diep__CE6370__qmlp400_binary_in_b": {"input": "fixed<16,6>"},
}
# Layers the firmware built otherwise than the config says (INDEX.csv notes, report module names):
# MuhammadAshraful's Dense(1352->10) is nnet::dense_resource with the reuse factor 104 hls4ml moved it to.
# ChiRuiChen's convolutions ran with the reuse factors 9, 72, 36, 36, 36, 36, 72 (INDEX.csv lists
# 9;36;64;72; each layer's interval per pixel in the report is its reuse factor + 11).
LAYER_FIXES = {
    "MuhammadAshraful__CNN-in-FPGA-hls4ml__": {"Dense": {"Strategy": "Resource", "ReuseFactor": 104}},
    "ChiRuiChen__AutoEncoder_hls4ml__": {
        f"conv2d_{147 + i}": {"ReuseFactor": rf} for i, rf in enumerate((9, 72, 36, 36, 36, 36, 72))
    },
}
# The L1 jet tagger's report shows its pointwise convolutions computing all 10 positions at
# once (interval 1-2: an hls4ml older than 0.7); hls4ml 1.3 does that with a
# ParallelizationFactor of all positions.
ALL_POSITIONS_AT_ONCE = ("Brainz22__",)


class FixtureError(RuntimeError):
    """A fixture cannot become a case; the message says why."""


@dataclass
class Case:
    name: str
    network: str
    tool: str  # vivado_hls (Vivado HLS <= 2020.1) or vitis_hls (Vitis HLS >= 2020.2)
    tool_version: str
    layers: list[dict]
    weights: dict[str, np.ndarray]
    clock_ns: float
    clock_uncertainty_ns: float
    part: str
    mul_impl: str
    truth: dict  # the report's totals
    instances: list[dict]  # the report's per-instance table (first level below the top)
    breakdown: dict  # the report's utilisation by category (Instance, FIFO, Register, ...)
    notes: list[str] = field(default_factory=list)

    def estimate(self, coefficients: dict | None = None) -> dict:
        return self.design().estimate(coefficients)

    def design(self) -> estimate.Design:
        if not hasattr(self, "_design"):
            self._design = estimate.Design(self.layers, self.weights, self.clock_ns, self.mul_impl, self.tool,
                                           self.clock_uncertainty_ns, self.part)  # fmt: skip
        return self._design


@dataclass
class Skipped:
    name: str
    reason: str


def network_of(name: str) -> str:
    found = next((network for prefix, network in NETWORKS.items() if name.startswith(prefix)), None)
    if found is None:
        raise FixtureError(f"{name} is not assigned to a network in estimator_fixtures.NETWORKS")
    return found


def index_rows(fixtures: Path) -> list[dict]:
    index = Path(fixtures) / "INDEX.csv"
    if not index.is_file():
        raise FixtureError(f"{index} not found: not an HLS report fixture directory")
    with index.open(newline="") as f:
        return list(csv.DictReader(f))


# -- the Keras model, with the weights that were synthesised ---------------------------------------


def _keras3_node(node) -> list:
    """A Keras 3 inbound node ({'args': [tensor or [tensors]], ...}) in Keras 2's list form."""
    if isinstance(node, list):
        return node
    tensors = []

    def collect(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            name, node_index, tensor_index = value["config"]["keras_history"]
            tensors.append([name, node_index, tensor_index, {}])
        elif isinstance(value, list):
            for v in value:
                collect(v)

    collect(node.get("args", []))
    return tensors


def _keras3_to_2(obj):
    """A Keras 3 model config as tf_keras reads it (no module paths, plain dtype names,
    Keras 2 inbound nodes)."""
    if isinstance(obj, list):
        return [_keras3_to_2(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if obj.get("class_name") == "DTypePolicy":
        return obj["config"]["name"]
    drop = ("module", "registered_name", "build_config", "quantization_config", "optional", "compile_config")
    out = {k: _keras3_to_2(v) for k, v in obj.items() if k not in drop}
    if "inbound_nodes" in obj:
        out["inbound_nodes"] = [_keras3_node(node) for node in obj["inbound_nodes"]]
    if "batch_shape" in out:
        out["batch_input_shape"] = out.pop("batch_shape")
    for key in ("input_layers", "output_layers"):  # Keras 3 may write a single [name, 0, 0]
        if key in out and out[key] and not isinstance(out[key][0], list):
            out[key] = [out[key]]
    return out


def _build(config: dict):
    with keras.utils.custom_object_scope(custom_objects()):
        if config["class_name"] == "Sequential":
            return keras.Sequential.from_config(config["config"])
        return keras.Model.from_config(config["config"])


def _natural(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _load_zip_weights(model, archive: zipfile.ZipFile) -> None:
    """Weights of a ``.keras`` archive (``model.weights.h5``): Keras 3 names the groups by
    layer, tf.keras by class with a counter; a layer takes the first unused group (natural
    order) whose variables have its shapes, its own name preferred."""
    import h5py

    with archive.open("model.weights.h5") as f, h5py.File(io.BytesIO(f.read()), "r") as h5:
        groups: dict[str, list] = {}

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and re.search(r"vars[/\\]\d+$", name):
                owner, index = re.split(r"[/\\]vars[/\\]", name)
                groups.setdefault(owner, []).append((int(index), np.asarray(obj)))

        h5.visititems(visit)
    groups = {k: [a for _, a in sorted(v, key=lambda t: t[0])] for k, v in groups.items()
              if not k.startswith(("optimizer", "metrics"))}  # fmt: skip
    unused = sorted(groups, key=_natural)
    for layer in model.layers:
        shapes = [tuple(w.shape) for w in layer.get_weights()]
        if not shapes:
            continue
        fits = [g for g in unused if [a.shape for a in groups[g]] == shapes]
        if not fits:
            raise FixtureError(f"no weights of shapes {shapes} for layer {layer.name} in model.weights.h5")
        chosen = next((g for g in fits if re.split(r"[/\\]", g)[-1] == layer.name or f"/{layer.name}/" in g), fits[0])
        layer.set_weights(groups[chosen])
        unused.remove(chosen)


def keras_model(fixture: Path):
    """The project's Keras model with its trained weights, and its config as saved, from
    whichever file it kept: ``keras_model.h5``, ``keras_model.keras`` (a zip, or HDF5
    under that name) or ``keras/*.json`` with its weights."""
    import h5py

    candidates = [fixture / "keras_model.h5", fixture / "keras_model.keras"]
    path = next((p for p in candidates if p.is_file()), None)
    if path is not None and h5py.is_hdf5(path):
        with h5py.File(path, "r") as f:
            config = f.attrs.get("model_config")
        if config is None:
            raise FixtureError(f"{path} holds weights only (no model_config)")
        config = json.loads(config)
        with tempfile.TemporaryDirectory() as tmp:  # tf_keras reads HDF5 only from files named *.h5
            copy = Path(tmp) / "model.h5"
            copy.write_bytes(path.read_bytes())
            with keras.utils.custom_object_scope(custom_objects()):
                return keras.models.load_model(str(copy), compile=False), config
    if path is not None and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            config = _keras3_to_2(json.loads(archive.read("config.json")))
            model = _build(config)
            _load_zip_weights(model, archive)
        return model, config
    found = sorted((fixture / "keras").glob("*.json"))
    if not found:
        raise FixtureError("no Keras model (keras_model.h5, keras_model.keras or keras/*.json)")
    config = json.loads(found[0].read_text())
    model = _build(config)
    weights = sorted((fixture / "keras").glob("*.h5"))
    if not weights:
        raise FixtureError(f"{found[0].name} has no weights file beside it")
    model.load_weights(str(weights[0]))
    return model, config


def _read_values(path: Path) -> np.ndarray:
    return np.array([float(v) for v in re.split(r"[,\s]+", path.read_text()) if v])


def firmware_weights(fixture: Path) -> dict[int, dict[str, np.ndarray]]:
    """Per hls4ml layer index: the weight files the firmware loads (``w`` kernel, ``b`` bias,
    ``wr``/``br`` recurrent kernel and bias)."""
    out: dict[int, dict[str, np.ndarray]] = {}
    for path in (fixture / "firmware" / "weights").glob("*.txt"):
        match = re.fullmatch(r"(w|b|wr|br)(\d+)", path.stem)
        if match:
            out.setdefault(int(match[2]), {})[match[1]] = _read_values(path)
    return out


def _kernel_layers(model) -> list:
    return [layer for layer in model.layers if layer.get_weights() and "normalization" not in layer.__class__.__name__.lower()]


def synthesised_model(fixture: Path, notes: list[str]):
    """The Keras model with the firmware's kernels and biases where the firmware kept them
    (a layer takes the first unused weight file of its kernel's size, in index order).
    A Dense layer of the kept model that is narrower or wider than the firmware's (a
    stale model of another training run) gets the firmware's width."""
    model, saved_config = keras_model(fixture)
    files = firmware_weights(fixture)
    kernels = {i: f for i, f in sorted(files.items()) if "w" in f}
    if not kernels:
        notes.append("no firmware weights: the Keras model's own weights")
        return model
    layers = _kernel_layers(model)
    sizes = {f["w"].size for f in kernels.values()}
    if len(layers) == len(kernels):  # widths from the firmware where the kept model is stale
        config = copy.deepcopy(saved_config)
        entries = {c["config"]["name"]: c for c in config["config"]["layers"]}
        patched = []
        for layer, (index, f) in zip(layers, kernels.items()):
            size, n_in = f["w"].size, int(np.prod(layer.get_weights()[0].shape[:-1]))
            if layer.get_weights()[0].size not in sizes and "units" in layer.get_config() and size % n_in == 0:
                entries[layer.name]["config"]["units"] = size // n_in
                patched.append(layer.name)
        if patched:
            notes.append(f"Dense widths from the firmware: {', '.join(patched)}")
            model = _build(config)
            layers = _kernel_layers(model)
    unused = list(kernels)
    kept = []
    for layer in layers:
        values = layer.get_weights()
        index = next((i for i in unused if kernels[i]["w"].size == values[0].size), None)
        if index is None:
            kept.append(layer.name)
            continue
        unused.remove(index)
        f = kernels[index]
        values[0] = f["w"].reshape(values[0].shape)
        recurrent = "wr" in f and len(values) > 2
        if recurrent:
            values[1] = f["wr"].reshape(values[1].shape)
        bias_at = 2 if recurrent else 1
        if len(values) > bias_at and "b" in f:
            bias = f["b"] if "br" not in f else np.concatenate([f["b"], f["br"]])
            if bias.size == values[bias_at].size:
                values[bias_at] = bias.reshape(values[bias_at].shape)
        layer.set_weights(values)
    if kept:
        notes.append(f"no firmware weights of the right size for {', '.join(kept)}: the Keras model's own")
    return model


# -- hls4ml settings as synthesised -------------------------------------------------------------------


class _IgnoreTags(yaml.SafeLoader):
    """hls4ml_config.yml tags its model path with !keras_model; the path is not needed."""


_IgnoreTags.add_multi_constructor("!", lambda loader, suffix, node: None)


def hls_settings(fixture: Path, model) -> dict:
    config = yaml.load((fixture / "hls4ml_config.yml").read_text(), Loader=_IgnoreTags)
    hls_config = config.get("HLSConfig") or {}
    names = hls_config.setdefault("LayerName", {}) or {}
    hls_config["LayerName"] = names
    for layer in names.values():
        if isinstance(layer, dict):
            layer.pop("ConvImplementation", None)  # a string in older hls4ml; not what the estimator looks at
    fixes = next((f for prefix, f in PRECISION_FIXES.items() if fixture.name.startswith(prefix)), {})
    for layer in model.layers:
        kind = "input" if layer.__class__.__name__ == "InputLayer" else layer.__class__.__name__.lstrip("Q")
        layer_fixes = next((f for prefix, f in LAYER_FIXES.items() if fixture.name.startswith(prefix)), {})
        for key in (kind, layer.name):  # by layer class or by name
            if key in layer_fixes:
                names.setdefault(layer.name, {}).update(layer_fixes[key])
        if fixture.name.startswith(ALL_POSITIONS_AT_ONCE) and kind.startswith("Conv"):
            names.setdefault(layer.name, {})["ParallelizationFactor"] = int(np.prod(layer.output_shape[1:-1]))
        if kind in fixes:
            names.setdefault(layer.name, {}).setdefault("Precision", {})["result"] = fixes[kind]
    if fixes.get("input"):  # (a Sequential model's input layer is not among its layers)
        for name in model.input_names:
            names.setdefault(name, {}).setdefault("Precision", {})["result"] = fixes["input"]
    return {
        "hls_config": hls_config,
        "backend": str(config.get("Backend", "Vivado")).replace("Accelerator", ""),
        "io_type": config.get("IOType", "io_parallel"),
        "part": config.get("Part") or config.get("XilinxPart"),
    }


def mul_impl(fixture: Path) -> str:
    source = json.loads((fixture / "SOURCE.json").read_text())
    for directive in source.get("tool_settings", {}).get("build_prj.tcl directives", []):
        match = re.fullmatch(r"config_op mul -impl (\w+)", directive.strip())
        if match:
            return match[1]
    return "auto"


def _reuse_factors(row: dict) -> list[int]:
    return [int(v) for v in row["reuse_factor"].split(";")]


# -- cases -----------------------------------------------------------------------------------------


def load_case(row: dict, fixtures: Path) -> Case:
    """Convert one fixture's model as it was synthesised and describe it for the estimator."""
    fixture = Path(fixtures) / row["dir"]
    notes: list[str] = []
    if row["has_keras_model"] != "y":
        detail = f": {row['notes'][:160]}" if row["notes"] else ""
        raise FixtureError(f"the project kept no usable Keras model (report only){detail}")
    if not (fixture / "hls4ml_config.yml").is_file():
        raise FixtureError("no hls4ml_config.yml")
    model = synthesised_model(fixture, notes)
    settings = hls_settings(fixture, model)
    report_path = hls_reports.find_report(fixture)
    report = hls_reports.read_project(fixture)
    if report["latency_worst"] is None:
        raise FixtureError("the report gives no worst-case latency (data-dependent loops)")
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        hls_model = hls4ml.converters.convert_from_keras_model(
            model, hls_config=settings["hls_config"], output_dir=tmp, backend=settings["backend"],
            io_type=settings["io_type"], part=settings["part"], clock_period=report["clock_target_ns"],
        )  # fmt: skip
    layers, weights = hls.describe(hls_model)
    text_report = next(iter(sorted(report_path.parent.glob("myproject_csynth.rpt"))), None)
    instances = hls_reports.parse_instances(text_report) if text_report else []
    breakdown = hls_reports.parse_breakdown(text_report) if text_report else {}
    # the softmax implementation the firmware used (older hls4ml defaulted to 'latency'), by its module name
    implementation = next((m[1] for i in instances if (m := re.match(r"softmax_(latency|stable|legacy)", i["module"]))), None)
    for layer in layers:
        softmax = layer["class"] == "Softmax" or layer.get("activation") == "softmax"
        if implementation and softmax and layer["name"] not in weights:
            layer["implementation"] = implementation
    synthesised = _reuse_factors(row)
    weighted = [layer for layer in layers if layer["name"] in weights and layer["class"] != "BatchNormalization"]
    if len(synthesised) == 1:  # parameters.h was edited in some projects: take what was synthesised
        for layer in weighted:
            layer["reuse_factor"] = synthesised[0]
    elif sorted({layer["reuse_factor"] for layer in weighted}) != sorted(set(synthesised)):
        notes.append(f"reuse factors {sorted({l['reuse_factor'] for l in weighted})} differ from the synthesised {synthesised}")
    truth = {
        "LUT": report["LUT"], "FF": report["FF"], "DSP": report["DSP"], "BRAM_18K": report["BRAM_18K"],
        "latency_cycles": report["latency_worst"], "interval": report["interval_max"],
    }  # fmt: skip
    # the top's structure as synthesised: older hls4ml made some io_parallel tops dataflow regions
    # where hls4ml 1.3 pipelines them (the L1 jet tagger)
    synthesised_style = {"dataflow": "dataflow", "yes": "pipeline"}.get(_top_pipeline(report_path) or "")
    converted_style = layers[0].get("pipeline_style") if layers else None  # every layer carries the top's style
    if synthesised_style and settings["io_type"] == "io_parallel" and converted_style != synthesised_style:
        notes.append(f"top function: {synthesised_style} as synthesised, not {converted_style}")
        for layer in layers:
            layer["pipeline_style"] = synthesised_style
    return Case(row["dir"], network_of(row["dir"]), report["tool"], report["tool_version"], layers, weights,
                report["clock_target_ns"], report["clock_uncertainty_ns"], report["part"], mul_impl(fixture), truth, instances,
                breakdown, notes)  # fmt: skip


def _top_pipeline(report_path: Path) -> str | None:
    """The top function's pipeline type in a csynth XML report (``dataflow``, ``yes``, ``no``)."""
    if report_path.suffix != ".xml":
        return None
    match = re.search(r"<PipelineType>\s*(\w+)\s*</PipelineType>", report_path.read_text(errors="replace"))
    return match[1] if match else None


def load_corpus(fixtures: Path) -> tuple[list[Case], list[Skipped]]:
    """Every report of one fixture directory: a case, or the reason why it cannot be one."""
    cases, skipped = [], []
    for row in index_rows(fixtures):
        network_of(row["dir"])  # every report belongs to a network, usable or not
        try:
            cases.append(load_case(row, fixtures))
        except (FixtureError, hls_reports.ReportError) as err:
            skipped.append(Skipped(row["dir"], str(err)))
    return cases, skipped


# -- the report's instances matched to the described layers ------------------------------------------

# hls4ml's function names (the report's module names) -> the kind of layer they implement
_MODULE_KINDS = (
    (r"^dense", "dense"),
    (r"^(pointwise_conv|conv_[12]d|depthwise_conv|separable_conv)", "conv"),
    (r"^(gru|lstm|simple_rnn)", "recurrent"),
    (r"^softmax", "softmax"),
    (r"^normalize", "batchnorm"),
    (r"^(global_)?pooling", "pooling"),
    (r"^(relu|sigmoid|tanh|linear|leaky_relu|elu|selu|softplus|softsign|hard_sigmoid|hard_tanh|binary_tanh"
     r"|ternary_tanh|prelu|thresholded_relu)", "activation"),
    (r"^zeropad", "padding"),
    (r"^resize", "resize"),
    (r"^concatenate", "concatenate"),
)
_LAYER_KINDS = {
    "Dense": "dense", "Conv1D": "conv", "Conv2D": "conv", "PointwiseConv1D": "conv", "PointwiseConv2D": "conv",
    "DepthwiseConv1D": "conv", "DepthwiseConv2D": "conv", "Conv2DBatchnorm": "conv", "Conv1DBatchnorm": "conv",
    "DenseBatchnorm": "dense", "GRU": "recurrent", "LSTM": "recurrent", "SimpleRNN": "recurrent",
    "Softmax": "softmax", "BatchNormalization": "batchnorm", "Pooling1D": "pooling", "Pooling2D": "pooling",
    "GlobalPooling1D": "pooling", "GlobalPooling2D": "pooling", "Activation": "activation", "ParametrizedActivation": "activation",
    "ZeroPadding1D": "padding", "ZeroPadding2D": "padding", "Resize": "resize", "Concatenate": "concatenate",
}  # fmt: skip


def module_kind(module: str) -> str | None:
    return next((kind for pattern, kind in _MODULE_KINDS if re.match(pattern, module)), None)


def layer_kind(layer: dict) -> str | None:
    if layer["class"] == "Activation" and layer.get("activation") == "softmax":
        return "softmax"
    return _LAYER_KINDS.get(layer["class"])


def matched_instances(case: Case) -> list[tuple[dict, dict]]:
    """(layer, instance) pairs: per kind, the report's instances in the order of their hls4ml
    config number (``..._config<N>_...``) against the described layers in order. A kind whose
    counts differ (e.g. a BatchNorm fused by one hls4ml version, kept by the other) is left
    unmatched. Weighted layers whose instances carry no config number (older hls4ml names
    them ``dense_latency_0_0_..._1``) are matched by size: the instances by their DSPs, the
    layers by their estimated DSPs (a count the estimator gets within a few %), when no two
    layers tie; other kinds without numbers are left unmatched."""
    by_kind: dict[str, list[dict]] = {}
    for instance in case.instances:
        kind = module_kind(instance["module"])
        if kind:
            by_kind.setdefault(kind, []).append(instance)
    pairs = []
    for kind, instances in by_kind.items():
        layers = [layer for layer in case.layers if layer_kind(layer) == kind and not _cast_only(layer)]
        numbers = [re.search(r"config(\d+)", i["module"]) for i in instances]
        if len(layers) != len(instances):
            continue
        if len(instances) > 1 and not all(numbers):
            pairs += _matched_by_size(case, layers, instances) if kind in ("dense", "conv") else []
            continue
        order = sorted(range(len(instances)), key=lambda k: int(numbers[k][1]) if numbers[k] else 0)
        pairs += [(layer, instances[k]) for layer, k in zip(layers, order)]
    return pairs


def _matched_by_size(case: Case, layers: list[dict], instances: list[dict]) -> list[tuple[dict, dict]]:
    dsps = {cost.name: cost.dsp for cost in case.design().layer_costs(estimate.family_coefficients(case.tool))}
    size = lambda layer: (dsps.get(layer["name"], 0), layer.get("n_nonzero", 0))  # noqa: E731
    if len({size(layer) for layer in layers}) < len(layers):
        return []
    ranked = sorted(instances, key=lambda i: (i.get("DSP") or 0, i.get("LUT") or 0))
    return list(zip(sorted(layers, key=size), ranked))


def _cast_only(layer: dict) -> bool:
    return layer["class"] == "Activation" and layer.get("activation") == "linear"
