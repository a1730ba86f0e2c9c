"""Automatic tasks on a tiny problem: each honours its tolerance, records every candidate,
and a tighter tolerance never yields a smaller model."""

import pytest

from hlsnake import data, kerasenv, models, prune, quantize, scale
from hlsnake.training import accuracy, fit

FIT = {"epochs": 20, "batch_size": 64, "learning_rate": 0.005, "patience": 4, "recovery_epochs": 1}
TUNE = {"epochs": 3, "batch_size": 64, "learning_rate": 0.003, "patience": 2, "recovery_epochs": 1, "min_step": 0.1}
HLS = {"backend": "Vitis", "part": "xcu250-figd2104-2L-e", "clock_period": 5, "default_precision": "ap_fixed<16,6>", "io_type": "io_parallel"}


@pytest.fixture(scope="module")
def problem(tmp_path_factory):
    path = tmp_path_factory.mktemp("tasks") / "split.npz"
    data.prepare({"name": "digits", "seed": 0, "test_fraction": 0.2, "validation_fraction": 0.2, "max_samples": None}, path)
    split = data.Split(path)
    kerasenv.seed_everything(0)
    model = models.build({"name": "mlp", "type": "mlp", "hidden": [16]}, (64,), 10)
    fit(model, split, FIT, log=lambda *_: None)
    return split, model


def _quiet(*_):
    pass


def test_auto_prune_honours_tolerance_and_tighter_is_never_sparser(problem):
    split, model = problem
    results = {}
    for tolerance in (0.0, 0.05):
        kerasenv.seed_everything(1)
        pruned, sparsity, record = prune.auto_prune(model, split, tolerance, TUNE, log=_quiet)
        frame = record.frame()
        assert len(frame) >= 3 and {"sparsity", "accuracy", "drop", "accepted"} <= set(frame.columns)
        assert (frame["accepted"] == (frame["drop"] <= tolerance + 1e-12)).all()
        if sparsity > 0:
            assert frame.loc[frame["sparsity"].round(4) == round(sparsity, 4), "accepted"].all()
            assert record.baseline - accuracy(pruned, split, "val") <= tolerance + 1e-12
        results[tolerance] = sparsity
    assert results[0.0] <= results[0.05]
    assert results[0.05] >= 0.5  # a 5-point budget prunes this net at least by half


def test_auto_scale_honours_relative_tolerance_and_stops_after_rejections(problem):
    split, model = problem
    cfg = {**FIT, "epochs": 8, "max_rejections": 2}
    factors = {}
    for tolerance in (0.0, 0.1):
        kerasenv.seed_everything(2)
        scaled, factor, record = scale.auto_scale(model, split, tolerance, cfg, log=_quiet)
        frame = record.frame()
        assert (frame["accepted"] == (frame["drop"] <= tolerance + 1e-12)).all()
        rejected_run = 0
        for accepted in frame["accepted"]:
            rejected_run = 0 if accepted else rejected_run + 1
            assert rejected_run <= cfg["max_rejections"]
        if factor < 1:
            assert scale.hidden_widths(scaled) == [round(16 * factor)]
        factors[tolerance] = factor
    assert factors[0.1] <= factors[0.0]  # a looser tolerance never gives a wider network


def test_auto_quantize_judges_on_the_bit_accurate_model(problem, tmp_path):
    split, model = problem
    cfg = {**TUNE, "min_bits": 3, "max_bits": 8, "per_layer": False}
    bits = {}
    for tolerance in (0.0, 0.04):
        kerasenv.seed_everything(3)
        qmodel, wbits, abits, precisions, record = quantize.auto_quantize(
            model, split, tolerance, cfg, HLS, tmp_path / f"t{tolerance}", log=_quiet
        )
        frame = record.frame()
        assert (frame["accepted"] == (frame["drop"] <= tolerance + 1e-12)).all()
        chosen = frame[(frame["weight_bits"] == "-".join(map(str, wbits))) & (frame["activation_bits"] == "-".join(map(str, abits)))]
        assert len(chosen) == 1
        if chosen["accepted"].item():
            assert chosen["drop"].item() <= tolerance + 1e-12
        assert f"quantized_bits({wbits[0]}" in precisions["fc1"]["weight"]
        bits[tolerance] = sum(wbits)
    assert bits[0.04] <= bits[0.0]
    assert not list(tmp_path.glob("*/candidate*"))  # scratch hls4ml projects are removed


def test_auto_hls_narrows_data_types_within_tolerance_and_cuts_cost(problem, tmp_path):
    import pandas as pd

    from hlsnake import hls, stages

    split, model = problem
    model_dir = tmp_path / "results/digits/mlp/train"
    model_dir.mkdir(parents=True)
    model.save(model_dir / "model.h5", save_format="h5")
    knobs = {"reuse_factor": 1, "strategy": "latency", "io_type": "io_parallel"}
    plain = stages.hls_convert(split.path, model_dir, model_dir / "hls_plain", HLS, knobs)
    narrowed = stages.hls_convert(split.path, model_dir, model_dir / "hls_auto", HLS, {**knobs, "tolerance": 0.01})
    candidates = pd.read_csv(model_dir / "hls_auto/candidates.csv")
    assert (candidates["accepted"] == (candidates["drop"] <= 0.01 + 1e-12)).all()
    assert set(narrowed["precisions"]) == {"x_in", "relu1"}  # the input and the float ReLU output
    assert int(narrowed["precisions"]["x_in"].split("<")[1].split(",")[0]) < 16  # narrower than ap_fixed<16,6>
    final = hls.bit_accurate_accuracy(model, split, "val", tmp_path / "check", HLS, knobs, narrowed["precisions"])
    assert narrowed["baseline_val_accuracy"] - final <= 0.01 + 1e-12
    cost = {
        name: stages.csynth(model_dir / name, model_dir / name / "synth/resources.json", "estimate", HLS, {}, split.path)
        for name in ("hls_plain", "hls_auto")
    }
    # narrow operands move multiplications from DSPs into LUTs: far fewer DSPs, and less
    # logic overall when a DSP counts as the ~100 LUTs of logic it replaces
    assert cost["hls_auto"]["DSP"] < cost["hls_plain"]["DSP"]
    total = {name: c["LUT"] + 100 * c["DSP"] for name, c in cost.items()}
    assert total["hls_auto"] < total["hls_plain"]
    assert plain["accuracy"] - narrowed["accuracy"] <= 0.03  # test split: close to the validation decision


def test_per_layer_reuse_factors_reach_hls4ml(problem, tmp_path):
    from hlsnake import hls

    _, model = problem
    knobs = {"reuse_factor": [4, 7], "strategy": "latency", "io_type": "io_parallel"}
    hls_model, notes = hls.convert(model, str(tmp_path / "prj"), HLS, knobs)
    layers, _ = hls.describe(hls_model)
    rf = {layer["name"]: layer["reuse_factor"] for layer in layers if layer["class"] == "Dense"}
    assert rf["fc1"] == 4
    assert rf["output"] == 8  # a 16x10 layer cannot be shared 7 ways: the closest valid value
    assert any("ReuseFactor=7 is not valid for layer output (16x10)" in note for note in notes)
