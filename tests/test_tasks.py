"""Automatic tasks on a tiny problem: each honours its tolerance, records every candidate,
returns the candidate it chose, acts under a loose tolerance (prunes, narrows, lowers the
bits), and a tighter tolerance never yields a smaller model. Per-layer bit widths, chosen
automatically or fixed, reach each layer of the QKeras model and of the hls4ml design."""

import pytest

from hlsnake import data, kerasenv, models, prune, quantize, scale
from hlsnake.training import accuracy, fit

pytestmark = pytest.mark.slow  # trains, compiles C++ or runs a tool: not in the quick subset

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


def _row(frame, **knobs):
    """The one candidate of the log with these knobs."""
    match = frame
    for key, value in knobs.items():
        match = match[match[key] == value]
    assert len(match) == 1, (knobs, frame)
    return match.iloc[0]


def test_auto_prune_honours_tolerance_and_tighter_is_never_sparser(problem):
    split, model = problem
    results = {}
    for tolerance in (0.0, 0.05):
        kerasenv.seed_everything(1)
        pruned, sparsity, record = prune.auto_prune(model, split, tolerance, TUNE, log=_quiet)
        frame = record.frame()
        assert len(frame) >= 3 and {"sparsity", "accuracy", "drop", "accepted"} <= set(frame.columns)
        assert (frame["accepted"] == (frame["drop"] <= tolerance + 1e-12)).all()
        accepted = frame.loc[frame["accepted"], "sparsity"]
        assert sparsity == (accepted.max() if len(accepted) else 0.0)  # the sparsest accepted candidate
        results[tolerance] = pruned, sparsity, frame, record.baseline
    assert results[0.0][1] <= results[0.05][1]
    pruned, sparsity, frame, baseline = results[0.05]
    assert sparsity >= 0.5  # a 5-point budget prunes this net at least by half
    # the model it returns is that candidate: as sparse, and as accurate as its log says
    assert models.total_sparsity(pruned) == pytest.approx(sparsity, abs=0.01)
    val_accuracy = accuracy(pruned, split, "val")
    assert val_accuracy == pytest.approx(_row(frame, sparsity=round(sparsity, 4))["accuracy"])
    assert baseline - val_accuracy <= 0.05 + 1e-12


def test_auto_scale_honours_relative_tolerance_and_stops_after_rejections(problem):
    split, model = problem
    cfg = {**FIT, "epochs": 8, "max_rejections": 2}
    results = {}
    for tolerance in (0.0, 0.1):
        kerasenv.seed_everything(2)
        scaled, factor, record = scale.auto_scale(model, split, tolerance, cfg, log=_quiet)
        frame = record.frame()
        assert (frame["accepted"] == (frame["drop"] <= tolerance + 1e-12)).all()
        rejected_run = 0
        for accepted in frame["accepted"]:
            rejected_run = 0 if accepted else rejected_run + 1
            assert rejected_run <= cfg["max_rejections"]
        accepted = frame.loc[frame["accepted"], "width_factor"]
        assert factor == (accepted.min() if len(accepted) else 1.0)  # the narrowest accepted candidate
        assert scale.hidden_widths(scaled) == [round(16 * factor)]
        results[tolerance] = scaled, factor, frame
    assert results[0.1][1] <= results[0.0][1]  # a looser tolerance never gives a wider network
    scaled, factor, frame = results[0.1]
    assert factor < 1  # a 10 % budget narrows this net
    chosen = _row(frame, width_factor=factor)
    assert chosen["hidden"] == str(round(16 * factor))
    assert accuracy(scaled, split, "val") == pytest.approx(chosen["accuracy"])  # the model it returns is that candidate


def _bits(text) -> list[int]:
    return [int(b) for b in str(text).split("-")]


def _joined(bits) -> str:
    return "-".join(map(str, bits))


def _hls_type(quantizer) -> str:
    """The hls4ml type of a QKeras quantizer: quantized_bits(bits, integer) holds
    fixed<bits, integer + 1> (the sign bit); quantized_relu(bits, integer) ufixed<bits,
    integer>, rounding to the nearest (even) and saturating as QKeras does where it has
    fractional bits."""
    if getattr(quantizer, "keep_negative", False):
        return f"fixed<{quantizer.bits},{quantizer.integer + 1}>"
    modes = ",RND_CONV,SAT" if quantizer.bits > quantizer.integer else ""
    return f"ufixed<{quantizer.bits},{quantizer.integer}{modes}>"


def _precision(variable) -> str:
    p = variable.type.precision
    return f"{'' if p.signed else 'u'}fixed<{p.width},{p.integer}>"


def _check_layer_widths_through_hls4ml(qmodel, wbits, abits, hls_layers, hls_graph):
    """Each QKeras layer has the width asked for it, and the hls4ml design each layer's
    QKeras precision: weights and biases of every weight layer, the result of every ReLU."""
    weighted = [layer for layer in qmodel.layers if getattr(layer, "kernel_quantizer_internal", None) is not None]
    relus = [layer for layer in qmodel.layers if "quantized_relu" in str(getattr(layer, "quantizer", ""))]
    assert [layer.kernel_quantizer_internal.bits for layer in weighted] == wbits
    assert [layer.bias_quantizer_internal.bits for layer in weighted] == wbits
    assert [layer.quantizer.bits for layer in relus] == abits
    for layer in weighted:
        assert hls_layers[layer.name]["weight"] == _hls_type(layer.kernel_quantizer_internal), layer.name
        if hls_graph is not None:
            assert _precision(hls_graph[layer.name].weights["bias"]) == _hls_type(layer.bias_quantizer_internal), layer.name
    for layer in relus:
        assert hls_layers[layer.name]["result"] == _hls_type(layer.quantizer), layer.name


@pytest.fixture(scope="module")
def per_layer_quantised(problem, tmp_path_factory):
    """Automatic quantisation as it runs by default (per layer), under a loose tolerance."""
    split, model = problem
    cfg = {**TUNE, "min_bits": 3, "max_bits": 6, "per_layer": True}
    workdir = tmp_path_factory.mktemp("per_layer")
    kerasenv.seed_everything(3)
    return quantize.auto_quantize(model, split, 0.04, cfg, HLS, workdir / "scratch", log=_quiet), cfg, workdir


def test_auto_quantize_judges_on_the_bit_accurate_model(problem, per_layer_quantised, tmp_path):
    split, model = problem
    uniform = {**TUNE, "min_bits": 3, "max_bits": 8, "per_layer": False}
    kerasenv.seed_everything(3)
    runs = {0.0: quantize.auto_quantize(model, split, 0.0, uniform, HLS, tmp_path / "t0", log=_quiet)}
    runs[0.04] = per_layer_quantised[0]  # per layer, as by default
    bits = {}
    for tolerance, (qmodel, wbits, abits, precisions, record) in runs.items():
        frame = record.frame()
        assert (frame["accepted"] == (frame["drop"] <= tolerance + 1e-12)).all()
        chosen = _row(frame, weight_bits=_joined(wbits), activation_bits=_joined(abits))
        assert chosen["accepted"] and chosen["drop"] <= tolerance + 1e-12
        assert f"quantized_bits({wbits[0]}," in precisions["fc1"]["weight"]
        bits[tolerance] = sum(wbits) + sum(abits)
    assert len(set(runs[0.0][1] + runs[0.0][2])) == 1  # per_layer: False keeps one width
    assert bits[0.04] <= bits[0.0]
    assert max(runs[0.04][1] + runs[0.04][2]) < per_layer_quantised[1]["max_bits"]  # a 4-point budget lowers the bits
    for workdir in (tmp_path, per_layer_quantised[2]):
        assert not list(workdir.glob("*/candidate*"))  # scratch hls4ml projects are removed


def test_auto_quantize_per_layer_gives_each_layer_its_width_and_hls4ml_takes_it(problem, per_layer_quantised, tmp_path):
    from hlsnake import hls

    split, _ = problem
    (qmodel, wbits, abits, precisions, record), cfg, _ = per_layer_quantised
    frame = record.frame()
    is_uniform = [len(set(_bits(w) + _bits(a))) == 1 for w, a in zip(frame["weight_bits"], frame["activation_bits"])]
    uniform = frame[is_uniform]
    best_uniform = min(_bits(w)[0] for w in uniform.loc[uniform["accepted"], "weight_bits"])
    assert best_uniform < cfg["max_bits"]  # one width for all, bisected
    # then the widths of single layers, lowered further
    assert not all(is_uniform)
    assert max(wbits + abits) <= best_uniform and sum(wbits + abits) < best_uniform * len(wbits + abits)
    assert len(set(wbits + abits)) > 1  # the layers kept widths of their own
    chosen = _row(frame, weight_bits=_joined(wbits), activation_bits=_joined(abits))
    assert chosen["accepted"]
    assert precisions["fc1"]["weight"].startswith(f"quantized_bits({wbits[0]},")
    assert precisions["output"]["weight"].startswith(f"quantized_bits({wbits[1]},")
    assert precisions["relu1"]["activation"].startswith(f"quantized_relu({abits[0]},")
    # through hls4ml: every layer's precision is its own quantizer's
    knobs = {"reuse_factor": 1, "strategy": "latency", "io_type": "io_parallel"}
    hls_model, _ = hls.convert(qmodel, str(tmp_path / "prj"), HLS, knobs)
    hls_layers = {layer["name"]: layer for layer in hls.describe(hls_model)[0]}
    _check_layer_widths_through_hls4ml(qmodel, wbits, abits, hls_layers, hls_model.graph)
    # and the model returned is the candidate the log accepted: the same bit-accurate accuracy
    assert hls.bit_accurate_accuracy(qmodel, split, "val", tmp_path / "check", HLS) == pytest.approx(chosen["accuracy"])


def test_fixed_per_layer_widths_reach_each_layer_through_hls4ml(problem, tmp_path):
    """A flow step with a width per layer, from the config to the hls4ml design, as the
    workflow's jobs run it (the step's knobs read back from its directory name)."""
    import json

    from hlsnake import config, stages
    from hlsnake.designs import parse_design_path
    from hlsnake.flows import config_designs
    from hlsnake.kerasenv import load_model

    split, model = problem
    flows = [[{"quantize": {"weight_bits": [7, 3], "activation_bits": [5]}}]]
    spec = {"model": {"name": "mlp", "type": "mlp", "hidden": [16]}, "designs": {"baseline": False, "flows": flows}}
    validated = config.validate(spec, check_files=False)
    (design,) = config_designs(validated)
    train_dir = tmp_path / "results/digits/mlp/train"
    out = train_dir / design.model_path.rsplit("/", 1)[1]
    assert out.name == "quant_w7-3_a5"
    train_dir.mkdir(parents=True)
    model.save(train_dir / "model.h5", save_format="h5")
    step = parse_design_path(str(out)).steps[-1]
    sections = {"quantize": {**TUNE, "epochs": 1}}  # the widths are checked, not the accuracy
    metrics = stages.model_step(split.path, train_dir, out, step.task, step.params, sections, seed=1)
    assert metrics["params"]["weight_bits"] == [7, 3] and metrics["params"]["activation_bits"] == 5  # (one ReLU)
    hls_dir = out / "hls_rf1_latency_parallel"
    stages.hls_convert(split.path, out, hls_dir, HLS, {"reuse_factor": 1, "strategy": "latency", "io_type": "io_parallel"})
    hls_layers = {layer["name"]: layer for layer in json.loads((hls_dir / "layers.json").read_text())["layers"]}
    assert hls_layers["fc1"]["weight"].startswith("fixed<7,") and hls_layers["output"]["weight"].startswith("fixed<3,")
    assert hls_layers["relu1"]["result"].startswith("ufixed<5,")
    _check_layer_widths_through_hls4ml(load_model(out / "model.h5"), [7, 3], [5], hls_layers, None)


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
