"""Each stage with the real library, on digits with a tiny MLP."""

import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pytest

from hlsnake import evaluation, failures, stages
from hlsnake.artifacts import CSIM_CHECK_FILE
from hlsnake.emulator import Emulator

FIT = {"epochs": 20, "batch_size": 64, "learning_rate": 0.005, "patience": 4, "recovery_epochs": 2}
TUNE = {"epochs": 5, "batch_size": 64, "learning_rate": 0.002, "patience": 3, "recovery_epochs": 2}
HLS = {"backend": "Vitis", "part": "xcu250-figd2104-2L-e", "clock_period": 5, "default_precision": "ap_fixed<16,6>"}
MODEL = {"name": "mlp", "type": "mlp", "hidden": [16]}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("stages")
    data_path = root / "results/digits/data/split.npz"
    stages.prepare_data({"name": "digits", "test_fraction": 0.2, "validation_fraction": 0.2, "max_samples": None}, 0, data_path)
    train_dir = root / "results/digits/mlp/train"
    metrics = stages.train(data_path, train_dir, MODEL, FIT, seed=1)
    return data_path, train_dir, metrics


def test_train_beats_chance_and_records_metrics(trained):
    _, train_dir, metrics = trained
    assert metrics["accuracy"] > 0.85  # chance is 0.10
    assert metrics["n_params"] == 64 * 16 + 16 + 16 * 10 + 10
    saved = json.loads((train_dir / "metrics.json").read_text())
    assert saved["accuracy"] == metrics["accuracy"]
    assert saved["provenance"]["packages"]["hls4ml"] == "1.3.0"


@pytest.mark.slow
def test_prune_reaches_the_target_sparsity(trained):
    data_path, train_dir, _ = trained
    out = train_dir / "prune_s0.70"
    metrics = stages.model_step(data_path, train_dir, out, "prune", {"sparsity": 0.7}, {"prune": TUNE}, seed=1)
    assert 0.68 <= metrics["sparsity"] <= 0.72
    assert all(0.6 <= s <= 0.8 for s in metrics["sparsity_per_layer"].values())
    assert metrics["accuracy"] > 0.7


@pytest.mark.slow
def test_quantize_keeps_pruned_zeros_and_hls_matches_qkeras(trained):
    data_path, train_dir, _ = trained
    pruned = train_dir / "prune_s0.50"
    stages.model_step(data_path, train_dir, pruned, "prune", {"sparsity": 0.5}, {"prune": TUNE}, seed=1)
    quant = pruned / "quant_w6_a6"
    knobs = {"weight_bits": 6, "activation_bits": 6}
    metrics = stages.model_step(data_path, pruned, quant, "quantize", knobs, {"quantize": TUNE}, seed=1)
    assert metrics["sparsity"] >= 0.49  # fine-tuning did not regrow pruned weights
    assert "quantized_bits(6" in metrics["params"]["quantizers"]["fc1"]["weight"]
    hls_dir = quant / "hls_rf1_latency_parallel"
    knobs = {"reuse_factor": 1, "strategy": "latency", "io_type": "io_parallel"}
    hls_metrics = stages.hls_convert(data_path, quant, hls_dir, HLS, knobs)
    assert hls_metrics["accuracy"] > 0.8
    assert abs(hls_metrics["accuracy"] - metrics["accuracy"]) <= 0.02  # bit-accurate model vs QKeras
    layers = json.loads((hls_dir / "layers.json").read_text())["layers"]
    dense = [layer for layer in layers if layer["class"] == "Dense"]
    assert dense[0]["weight"] == "fixed<6,1>" or dense[0]["weight"].startswith("fixed<6,")
    with np.load(hls_dir / "weights.npz") as w:
        assert np.mean(w["fc1"] == 0) >= 0.49  # the hardware sees the zeros


def test_float_baseline_through_hls(trained):
    data_path, train_dir, train_metrics = trained
    hls_dir = train_dir / "hls_rf1_latency_parallel"
    metrics = stages.hls_convert(data_path, train_dir, hls_dir, HLS, {"reuse_factor": 1, "strategy": "latency", "io_type": "io_parallel"})
    assert abs(metrics["accuracy"] - train_metrics["accuracy"]) <= 0.02
    result = stages.csynth(hls_dir, hls_dir / "synth_estimate/resources.json", "estimate", HLS, {"backend": "estimate"}, data_path)
    assert result["source"] == "estimate" and result["DSP"] > 0 and result["LUT"] > 0


class OneLsbHigh(Emulator):
    """A deliberately wrong emulation: every output one step of its type too high."""

    def run(self, X):
        tensors = super().run(X)
        for name in self.outputs:
            tensors[name] = dataclasses.replace(tensors[name], codes=tensors[name].codes + 1)
        return tensors


@pytest.mark.slow
def test_a_wrong_emulation_fails_the_design_at_its_csim_check(trained, monkeypatch):
    """The C simulation of a front design agrees with the emulator; with a wrong emulator the
    same check fails the design, with the first difference in its recorded reason."""
    data_path, train_dir, _ = trained
    hls_dir = train_dir / "hls_rf2_latency_parallel"
    knobs = {"reuse_factor": 2, "strategy": "latency", "io_type": "io_parallel"}
    assert stages.hls_convert(data_path, train_dir, hls_dir, HLS, knobs)["evaluator"] == evaluation.EMULATOR
    job = SimpleNamespace(input=[str(data_path), str(train_dir / "model.h5"), str(hls_dir / "metrics.json")],
                          output=[str(hls_dir / CSIM_CHECK_FILE)])  # fmt: skip

    def check():
        return failures.run_stage(job, stages.csim_check, data_path, train_dir, hls_dir, HLS, knobs, job.output[0])

    assert check()["checked"] is True
    monkeypatch.setattr(evaluation, "Emulator", OneLsbHigh)
    assert check() is None
    record = json.loads((hls_dir / CSIM_CHECK_FILE).read_text())
    assert record["status"] == "failed" and record["reason"].startswith("EvaluationMismatch: the C simulation and the emulator disagree")
    assert "output" in record["reason"]


@pytest.mark.slow
def test_cnn_on_digits_images_through_io_stream(trained):
    """The small CNN (digits as 8x8x1 images) converts, compiles and simulates with io_stream."""
    data_path, train_dir, _ = trained
    cnn_dir = train_dir.parent.parent / "cnn/train"
    spec = {"name": "cnn", "type": "cnn", "filters": [4, 8], "kernel_size": 3, "pool": True, "hidden": [16]}
    float_metrics = stages.train(data_path, cnn_dir, spec, FIT, seed=1)
    assert float_metrics["accuracy"] > 0.8
    quant = cnn_dir / "quant_w6_a6"
    qmetrics = stages.model_step(data_path, cnn_dir, quant, "quantize", {"weight_bits": 6, "activation_bits": 6}, {"quantize": TUNE}, seed=1)
    knobs = {"reuse_factor": 1, "strategy": "latency", "io_type": "io_stream"}
    hls_metrics = stages.hls_convert(data_path, quant, quant / "hls_rf1_latency_stream", {**HLS, "io_type": "io_stream"}, knobs)
    assert abs(hls_metrics["accuracy"] - qmetrics["accuracy"]) <= 0.02
    layers = json.loads((quant / "hls_rf1_latency_stream/layers.json").read_text())["layers"]
    assert [layer["class"] for layer in layers if "Conv" in layer["class"]] == ["Conv2D", "Conv2D"]
    assert all(layer["io_type"] == "io_stream" for layer in layers)
