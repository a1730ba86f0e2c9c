"""The da4ml trace of QKeras networks (hlsnake.synth.rtl) and the da4ml backend.

The helpers at the top build tiny digits networks in seconds; test_yosys.py uses them too.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from hlsnake.kerasenv import keras, seed_everything  # first: Keras 2 for QKeras

from conftest import tiny_config
from hlsnake import config, data, models, quantize, synth, training
from hlsnake.fixed import Fixed
from hlsnake.fileio import write_json
from hlsnake.synth import rtl

INPUT = "ap_fixed<8,3>"  # narrow inputs keep the RTL (and Yosys) small


# -- helpers shared with test_yosys.py ---------------------------------------------------


def digits_split(path: Path) -> data.Split:
    data.prepare({"name": "digits", "seed": 1, "test_fraction": 0.2, "validation_fraction": 0.2}, path)
    return data.Split(path)


def trained_mlp(split: data.Split, hidden=(8,)):
    seed_everything(2)
    model = models.build({"type": "mlp", "name": "mlp", "hidden": list(hidden)}, (split.n_features,), split.n_classes)
    training.fit(model, split, {"epochs": 15, "batch_size": 64, "learning_rate": 0.01}, log=lambda *_: None)
    return model


def pruned_quantised(model, split: data.Split, sparsity: float, bits: int):
    """A QKeras copy of ``model`` with the smallest ``sparsity`` of each kernel zeroed."""
    pruned = keras.models.clone_model(model)
    for src, dst in zip(models.weight_layers(model), models.weight_layers(pruned)):
        kernel, bias = src.get_weights()
        kernel = np.where(np.abs(kernel) < np.quantile(np.abs(kernel), sparsity), 0.0, kernel)
        dst.set_weights([kernel, bias])
    qmodel, _ = quantize.to_qkeras(pruned, split, bits, bits)
    return qmodel


def make_job(model, split_path: Path, root: Path, hls=None, **synth_cfg) -> synth.SynthJob:
    """A synthesis job for ``model`` with the schema's defaults, overridden as given."""
    cfg = config.validate(tiny_config(hls={"default_precision": INPUT, **(hls or {})}, synth=synth_cfg), check_files=False)
    model_dir = Path(root)
    shutil.rmtree(model_dir, ignore_errors=True)
    model_dir.mkdir(parents=True)
    model.save(model_dir / "model.h5", save_format="h5")
    return synth.SynthJob(model_dir / "hls", model_dir, Path(split_path), model_dir / "synth", cfg["hls"], cfg["synth"])


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def split_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    digits_split(path)
    return path


@pytest.fixture(scope="module")
def mlps(split_path):
    """Two different quantised digits MLPs: 50% sparse with 6 bits, 80% sparse with 4."""
    split = data.Split(split_path)
    model = trained_mlp(split)
    return pruned_quantised(model, split, 0.5, 6), pruned_quantised(model, split, 0.8, 4)


# -- the trace -----------------------------------------------------------------------------


def test_quantized_relu_rounds_and_saturates_like_qkeras_on_every_input():
    """Every value of an ap_fixed<10,4> input, ties included, through quantized_relu(4,1)."""
    from da4ml.trace import FixedVariableArray, comb_trace
    from qkeras import quantized_relu

    quantizer = quantized_relu(4, 1)  # 3 fractional bits, saturates at 2 - 1/8
    x = FixedVariableArray.from_kif(np.ones(1, np.int8), np.full(1, 3, np.int8), np.full(1, 6, np.int8))
    comb = comb_trace(x, rtl._quantized_relu(x, quantizer, "test"))
    values = np.arange(-512, 512) / 64.0
    ours = comb.predict(values.reshape(-1, 1), n_threads=1).ravel()
    qkeras = np.asarray(quantizer(values.astype(np.float32)))
    np.testing.assert_array_equal(ours, qkeras)
    ties = (values * 8) % 1 == 0.5
    assert ties.sum() > 50 and np.any(np.floor(values[ties] * 8 + 0.5) != np.round(values[ties] * 8)), (
        "the inputs must include ties where rounding half up differs from half to even"
    )


@pytest.mark.slow
def test_traced_mlp_is_bit_exact_with_qkeras(mlps, split_path):
    split = data.Split(split_path)
    X, y = split.xy("test", (split.n_features,))
    for model in mlps:
        design = rtl.build(model, rtl.PortType.parse(INPUT), clock_ns=5.0, adder_delay_ns=1.0)
        check = rtl.compare(design, model, X, y, min_agreement=1.0)
        assert check["exact"] and check["max_abs_diff"] == 0.0 and check["argmax_agreement"] == 1.0
        assert check["accuracy"] == check["qkeras_accuracy"]


@pytest.mark.slow
def test_traced_cnn_is_bit_exact_with_qkeras(split_path):
    """QConv2D (valid), MaxPooling2D, Flatten and QDense: untrained, random weights."""
    split = data.Split(split_path)
    seed_everything(3)
    spec = {"type": "cnn", "name": "cnn", "filters": [3], "kernel_size": 3, "pool": True, "hidden": []}
    qmodel, _ = quantize.to_qkeras(models.build(spec, split.image_shape, split.n_classes), split, 5, 5)
    X, y = split.xy("test", split.image_shape)
    design = rtl.build(qmodel, rtl.PortType.parse(INPUT), clock_ns=5.0, adder_delay_ns=1.0)
    check = rtl.compare(design, qmodel, X, y, min_agreement=1.0)
    assert check["exact"], check


def test_disagreement_with_qkeras_fails_the_design_with_the_numbers(mlps, split_path):
    split = data.Split(split_path)
    X, y = split.xy("test", (split.n_features,))
    design = rtl.build(mlps[0], rtl.PortType.parse(INPUT), clock_ns=5.0, adder_delay_ns=1.0)
    with pytest.raises(rtl.NotBitExact, match=r"argmax agreement 0\.\d+ < synth.rtl.min_agreement 1.0 .*max \|diff\|"):
        rtl.compare(design, mlps[1], X, y, min_agreement=1.0)  # the other network as the reference


def test_pipeline_stages_follow_the_clock(mlps):
    fast, slow = (rtl.build(mlps[0], rtl.PortType.parse(INPUT), clock_ns, 1.0) for clock_ns in (2.0, 10.0))
    assert fast.latency_cycles > slow.latency_cycles >= 1
    with pytest.raises(ValueError, match="shorter than one adder"):
        rtl.build(mlps[0], rtl.PortType.parse(INPUT), clock_ns=0.5, adder_delay_ns=1.0)


@pytest.mark.skipif(not shutil.which("iverilog"), reason="Icarus Verilog (Debian package iverilog) is not installed")
@pytest.mark.slow
def test_icarus_simulation_of_the_verilog_matches_and_catches_a_mismatch(mlps, split_path, tmp_path):
    split = data.Split(split_path)
    design = rtl.build(mlps[0], rtl.PortType.parse(INPUT), clock_ns=5.0, adder_delay_ns=1.0)
    Xq = design.port.quantise(split.xy("test", (split.n_features,))[0][:100])
    rtl_dir = rtl.write_verilog(design, tmp_path, "xcu250-figd2104-2L-e")
    result = rtl.simulate_verilog(design, rtl_dir, Xq, timeout=300)
    assert result["checked"] and result["vectors"] == 100 and result["mismatched_outputs"] == 0
    other = rtl.build(mlps[1], rtl.PortType.parse(INPUT), clock_ns=5.0, adder_delay_ns=1.0)
    with pytest.raises(rtl.NotBitExact, match="Verilog disagrees with da4ml's simulation"):
        rtl.simulate_verilog(dataclasses.replace(design, comb=other.comb), rtl_dir, Xq, timeout=300)


# -- the da4ml backend -----------------------------------------------------------------------


@pytest.mark.slow
def test_da4ml_backend_reports_its_estimate_and_the_check(mlps, split_path, tmp_path):
    job = make_job(mlps[0], split_path, tmp_path / "design")
    result = synth.run("da4ml", job)
    assert result["source"] == "da4ml" and "not a synthesis result" in result["note"]
    assert result["LUT"] > 0 and result["FF"] > 0 and result["DSP"] == 0
    assert result["latency_ns"] == result["latency_cycles"] * result["clock_ns"] == result["latency_cycles"] * 5.0
    assert result["bit_exact"]["exact"] and result["bit_exact"]["n_test"] == 360


@pytest.mark.parametrize("backend", ["da4ml", "yosys"])
def test_a_float_design_is_refused_until_quantised(backend, split_path, tmp_path, monkeypatch):
    split = data.Split(split_path)
    model = models.build({"type": "mlp", "name": "mlp", "hidden": [4]}, (split.n_features,), split.n_classes)
    job = make_job(model, split_path, tmp_path / "float")
    # the refusal comes before any tool runs: no need for Yosys here
    monkeypatch.setattr(synth, "require_backend", lambda name: None)
    with pytest.raises(rtl.NotQuantised, match="layer 'fc1' .*floating point.*quantise the design first"):
        synth.run(backend, job)


def test_the_input_type_is_the_one_the_hls_step_chose(mlps, split_path, tmp_path):
    job = make_job(mlps[0], split_path, tmp_path / "design")
    assert rtl.input_type(job, "x_in") == rtl.PortType(Fixed(8, 3), "TRN", "WRAP")  # hls.default_precision
    write_json(job.hls_dir / "metrics.json", {"precisions": {"x_in": "fixed<6,3,RND,SAT>"}})
    port = rtl.input_type(job, "x_in")
    assert port == rtl.PortType(Fixed(6, 3), "RND", "SAT")
    # step 1/8: ties round up, out-of-range values saturate
    np.testing.assert_array_equal(port.quantise(np.array([0.0625, -0.0625, 5.0, -5.0])), [0.125, 0.0, 3.875, -4.0])
    with pytest.raises(rtl.UnsupportedLayer, match="only TRN/RND rounding"):
        rtl.PortType.parse("ap_fixed<8,3,RND_CONV>")
