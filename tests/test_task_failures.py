"""Automatic tasks go on past a candidate that cannot be built (a design failure): it is a
rejected row of the candidate log with its reason. Also: a tolerance that automatic
quantisation cannot meet is recorded, the hls bisection never tries a zero-bit type, a
pruned model is usable in memory, and the jobs' thread count reaches TensorFlow."""

import json
import math
import os
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from test_tasks import FIT, HLS, TUNE, problem  # noqa: F401  (the fixture, trained once for this module)
from hlsnake import candidates, evaluation, failures, hls, kerasenv, prune, quantize, scale, training

# Adam with a NaN step size turns the weights and the loss into NaN in the first batch (a
# merely huge step does not always: QKeras clips the weights it quantises)
DIVERGING_LR = float("nan")


def _quiet(*_):
    pass


def diverge_on_call(module, call: int, monkeypatch):
    """Make the ``call``-th training run of ``module`` (its ``fit``) really diverge."""
    real, calls = module.fit, []

    def fit(model, split, cfg, **kwargs):
        calls.append(cfg)
        if len(calls) == call:
            cfg = {**cfg, "learning_rate": DIVERGING_LR}
        return real(model, split, cfg, **kwargs)

    monkeypatch.setattr(module, "fit", fit)
    return calls


def break_cpp(hls_model, what: str = "design") -> None:
    """Make the hls4ml build of ``hls_model`` really fail: its C++ gets an #error when
    hls4ml has written it, before g++ runs."""
    write = hls_model.write

    def write_broken():
        write()
        cpp = Path(hls_model.config.get_output_dir()) / "firmware" / "myproject.cpp"
        cpp.write_text(cpp.read_text() + f"\n#error this {what} does not compile\n")

    hls_model.write = write_broken


def break_compile_on_call(call: int, monkeypatch):
    """Make the ``call``-th hls4ml build really fail (:func:`break_cpp`; the candidates are
    then simulated in C: ``CSIM``)."""
    real, calls = evaluation.compile_csim, []

    def compile_csim(hls_model):
        calls.append(hls_model)
        if len(calls) == call:
            break_cpp(hls_model, "candidate")
        return real(hls_model)

    monkeypatch.setattr(evaluation, "compile_csim", compile_csim)
    return calls


CSIM = {**HLS, "evaluate": "csim"}  # candidates compiled and simulated in C, so that a build can fail


def _rejected_with_reason(row, reason: str) -> None:
    assert not row["accepted"] and math.isnan(row["accuracy"]) and math.isnan(row["drop"])
    assert row["reason"].startswith(reason), row["reason"]


# -- one failed candidate does not fail the task --------------------------------------------


def test_candidate_log_records_a_failure_with_its_reason(tmp_path):
    record = candidates.CandidateLog("prune", 0.9, 0.01, relative=False, log=_quiet)
    assert record.add({"sparsity": 0.5}, 0.895)
    assert not record.add({"sparsity": 0.75}, 0.85)
    assert not record.add_failure({"sparsity": 0.875}, training.TrainingDiverged("training diverged"))
    record.write(tmp_path / "candidates.csv")
    frame = pd.read_csv(tmp_path / "candidates.csv", keep_default_na=False)
    assert list(frame["accepted"]) == [True, False, False]
    assert list(frame["reason"]) == ["", "accuracy drop exceeds the tolerance", "TrainingDiverged: training diverged"]
    assert frame["accuracy"][2] == "" and record.within_tolerance


@pytest.mark.slow
def test_auto_prune_logs_a_diverged_candidate_and_goes_on(problem, monkeypatch):  # noqa: F811
    from hlsnake.models import total_sparsity

    split, model = problem
    calls = diverge_on_call(prune, 2, monkeypatch)  # the second candidate (sparsity 0.75) diverges
    kerasenv.seed_everything(1)
    pruned, sparsity, record = prune.auto_prune(model, split, 0.05, TUNE, log=_quiet)
    frame = record.frame()
    assert len(calls) == len(frame) >= 3
    _rejected_with_reason(frame.iloc[1], "TrainingDiverged: training diverged")
    assert frame["sparsity"][1] == 0.75
    assert frame["accepted"].any() and sparsity > 0  # the search went on to an accepted design
    assert frame.loc[frame["sparsity"] == round(sparsity, 4), "accepted"].item()
    assert abs(total_sparsity(pruned) - sparsity) < 0.05


@pytest.mark.slow
def test_auto_scale_logs_a_diverged_candidate_and_goes_on(problem, monkeypatch):  # noqa: F811
    split, model = problem
    diverge_on_call(scale, 1, monkeypatch)
    kerasenv.seed_everything(2)
    scaled, factor, record = scale.auto_scale(model, split, 0.1, {**FIT, "epochs": 8, "max_rejections": 2}, log=_quiet)
    frame = record.frame()
    _rejected_with_reason(frame.iloc[0], "TrainingDiverged: training diverged")
    assert frame["width_factor"][0] == 0.875 and frame["hidden"][0] == "14"
    assert frame["accepted"].any() and factor < 1  # counted as one rejection, the search went on
    assert scale.hidden_widths(scaled) == [round(16 * factor)]


@pytest.mark.slow
def test_auto_quantize_logs_a_failed_build_and_goes_on(problem, tmp_path, monkeypatch):  # noqa: F811
    split, model = problem
    break_compile_on_call(2, monkeypatch)  # the second candidate (4 bits): g++ fails on it
    cfg = {**TUNE, "min_bits": 3, "max_bits": 6, "per_layer": False}
    kerasenv.seed_everything(3)
    qmodel, wbits, abits, precisions, record = quantize.auto_quantize(model, split, 0.04, cfg, CSIM, tmp_path, log=_quiet)
    frame = record.frame()
    assert frame["weight_bits"][1] == "4-4"
    _rejected_with_reason(frame.iloc[1], "CompileFailed: hls4ml could not compile the design's C++: Exception: Failed to compile project")
    assert len(frame) == 3 and frame["weight_bits"][2] == "5-5" and record.within_tolerance
    chosen = frame[frame["weight_bits"] == "-".join(map(str, wbits))]
    assert chosen["accepted"].item() and wbits[0] > 4  # the failed 4 sent the bisection up
    assert f"quantized_bits({wbits[0]}" in precisions["fc1"]["weight"]
    assert not list(tmp_path.glob("candidate*"))  # the failed candidate's scratch project is removed too


@pytest.mark.slow
def test_auto_quantize_fails_as_a_design_when_the_widest_cannot_be_built(problem, tmp_path, monkeypatch):  # noqa: F811
    split, model = problem
    diverge_on_call(quantize, 1, monkeypatch)
    cfg = {**TUNE, "min_bits": 3, "max_bits": 8, "per_layer": False}
    with pytest.raises(failures.DesignFailed, match=r"widest candidate \(8 bits\).*TrainingDiverged: training diverged") as err:
        quantize.auto_quantize(model, split, 0.04, cfg, HLS, tmp_path, log=_quiet)
    assert failures.is_design_failure(err.value)


@pytest.mark.slow
def test_auto_precision_logs_a_failed_build_and_goes_on(problem, tmp_path, monkeypatch):  # noqa: F811
    split, model = problem
    only_input = lambda m, s: dict(list(real_tensors(m, s).items())[:1])  # noqa: E731  (fewer builds)
    real_tensors = hls.data_tensors
    monkeypatch.setattr(hls, "data_tensors", only_input)
    break_compile_on_call(3, monkeypatch)  # the baseline, the widest candidate, then the first narrower one
    knobs = {"reuse_factor": 1, "strategy": "latency", "io_type": "io_parallel"}
    chosen, record = hls.auto_precision(model, split, CSIM, knobs, 0.01, tmp_path, log=_quiet)
    frame = record.frame()
    _rejected_with_reason(frame.iloc[1], "CompileFailed: hls4ml could not compile the design's C++: Exception: Failed to compile project")
    assert frame["accepted"][0] and frame["accepted"].sum() >= 1
    assert set(chosen) == {"x_in"}
    assert frame.loc[frame["precision"] == chosen["x_in"], "accepted"].all()
    assert not list(tmp_path.glob("candidate*"))


# -- a missed tolerance is recorded -----------------------------------------------------------


@pytest.mark.slow
def test_auto_quantize_that_misses_its_tolerance_says_so_up_to_the_summary(problem, tmp_path):  # noqa: F811
    from hlsnake import results, stages
    from hlsnake.designs import parse_design_path

    split, model = problem
    model_dir = tmp_path / "results/digits/mlp/train"
    model_dir.mkdir(parents=True)
    model.save(model_dir / "model.h5", save_format="h5")
    quant = model_dir / "quant_a0.0000"
    cfg = {**TUNE, "epochs": 1, "min_bits": 2, "max_bits": 2, "per_layer": False}  # 2 bits cannot keep a 0 tolerance
    metrics = stages.model_step(split.path, model_dir, quant, "quantize", {"tolerance": 0.0}, {"quantize": cfg, "hls": HLS}, seed=1)
    assert metrics["within_tolerance"] is False
    assert json.loads((quant / "metrics.json").read_text())["within_tolerance"] is False
    assert pd.read_csv(quant / "candidates.csv")["accepted"].tolist() == [False]
    assert metrics["params"]["weight_bits"] == [2, 2]  # the rejected model is kept, and said to be
    hls_dir = quant / "hls_rf1_latency_parallel"
    stages.hls_convert(split.path, quant, hls_dir, HLS, {"reuse_factor": 1, "strategy": "latency", "io_type": "io_parallel"})
    stages.csynth(hls_dir, hls_dir / "synth_estimate/resources.json", "estimate", HLS, {}, split.path)
    row = results.design_row(parse_design_path(str(hls_dir / "synth_estimate")))
    assert row["status"] == "ok" and row["within_tolerance"] is False


def test_quantize_min_bits_above_max_bits_is_a_config_error():
    from hlsnake.config import ConfigError, validate

    with pytest.raises(ConfigError, match=r"quantize\.min_bits \(9\).*quantize\.max_bits \(8\)"):
        validate({"quantize": {"min_bits": 9, "max_bits": 8}}, check_files=False)
    assert validate({"quantize": {"min_bits": 8, "max_bits": 8}}, check_files=False)["quantize"]["max_bits"] == 8


# -- no zero-width type ------------------------------------------------------------------------


def test_hls_bisection_never_tries_a_zero_width_type(problem, tmp_path, monkeypatch):  # noqa: F811
    assert hls.tensor_precision(0.5, False, 0) == "ufixed<1,0,RND,SAT>"  # integer part 0: one fraction bit at least
    assert hls.min_fraction(0.5, False) == 1 and hls.min_fraction(0.0, False) == 1 and hls.min_fraction(3.0, False) == 0
    assert hls.min_fraction(0.5, True) == 0 and hls.tensor_precision(0.5, True, 0) == "fixed<1,1,RND,SAT>"
    split, model = problem
    tried = []

    def every_candidate_keeps_accuracy(model, split, part, workdir, hls_cfg, knobs=None, precisions=None):
        tried.extend((precisions or {}).values())
        return 0.9  # (a zero-width type would abort the process in the C++ emulation)

    monkeypatch.setattr(hls, "bit_accurate_accuracy", every_candidate_keeps_accuracy)
    monkeypatch.setattr(hls, "data_tensors", lambda m, s: {"x_in": (0.4, True), "relu1": (0.6, False), "relu2": (0.0, False)})
    knobs = {"reuse_factor": 1, "strategy": "latency", "io_type": "io_parallel"}
    chosen, _ = hls.auto_precision(model, split, HLS, knobs, 0.01, tmp_path, log=_quiet)
    # every candidate accepted: the bisection goes to its lower bound, and stops there
    assert chosen == {"x_in": "fixed<1,1,RND,SAT>", "relu1": "ufixed<1,0,RND,SAT>", "relu2": "ufixed<1,0,RND,SAT>"}
    assert tried and all(int(p.split("<")[1].split(",")[0]) >= 1 for p in tried)


# -- pruning in memory ---------------------------------------------------------------------------


@pytest.mark.slow
def test_pruned_model_goes_straight_to_qkeras_in_memory(problem):  # noqa: F811
    split, model = problem
    kerasenv.seed_everything(4)
    pruned, _ = prune.prune(model, split, 0.5, {**TUNE, "epochs": 2}, log=_quiet)
    qmodel, precisions = quantize.to_qkeras(pruned, split, 6, 6)  # no save/load in between
    assert set(precisions) == {"fc1", "relu1", "output"}
    X, _ = split.xy("val")
    assert qmodel.predict(X[:8], verbose=0).shape == (8, 10)
    assert {id(layer) for layer in pruned.layers}.isdisjoint(id(layer) for layer in model.layers)


@pytest.mark.slow
def test_pruning_keeps_the_weights_of_layers_it_does_not_prune(problem):  # noqa: F811
    from hlsnake.kerasenv import keras

    split, _ = problem
    frozen = keras.layers.BatchNormalization(name="bn", trainable=False)  # not pruned, and not trained
    model = keras.Sequential(
        [keras.layers.InputLayer(input_shape=(64,)), keras.layers.Dense(16, name="fc1"), frozen,
         keras.layers.Activation("relu", name="relu1"), keras.layers.Dense(10, name="output"), keras.layers.Activation("softmax")]
    )  # fmt: skip
    values = [np.full(16, v, dtype=np.float32) for v in (2.0, 0.5, 0.1, 3.0)]  # gamma, beta, mean, variance
    frozen.set_weights(values)
    pruned, _ = prune.prune(model, split, 0.5, {**TUNE, "epochs": 1}, log=_quiet)
    for kept, value in zip(pruned.get_layer("bn").get_weights(), values):
        np.testing.assert_array_equal(kept, value)
    quantize.activation_ranges(pruned, split)  # its layers belong to its own graph


# -- threads ---------------------------------------------------------------------------------------


class _Files(list):
    """Like Snakemake's named file lists: iterable, and by name."""

    def __init__(self, **named):
        super().__init__(named.values())
        self.__dict__.update(named)


def test_rule_scripts_pass_the_jobs_threads(tmp_path, monkeypatch):
    from hlsnake import stages

    seen = {}
    monkeypatch.setattr(stages, "train", lambda *args, **kwargs: seen.setdefault("train", kwargs))
    monkeypatch.setattr(stages, "model_step", lambda *args, **kwargs: seen.setdefault("model_step", kwargs))
    out = tmp_path / "results/digits/mlp/train"
    job = SimpleNamespace(
        input=_Files(data=str(tmp_path / "split.npz"), model=str(out / "model.h5")),
        output=_Files(model=str(out / "prune_s0.50/model.h5"), metrics=str(out / "prune_s0.50/metrics.json")),
        params=SimpleNamespace(model={}, fit={}, seed=1, sections={"prune": {}}),
        threads=3,
    )
    runpy.run_path(str(REPO / "scripts/train.py"), init_globals={"snakemake": job})
    runpy.run_path(str(REPO / "scripts/model_step.py"), init_globals={"snakemake": job})
    assert seen == {"train": {"threads": 3}, "model_step": {"threads": 3}}


TRAIN_IN_A_FRESH_PROCESS = """
import json, sys
from hlsnake import stages
from hlsnake.kerasenv import tf
fit = {"epochs": 2, "batch_size": 64, "learning_rate": 0.005, "patience": None}
metrics = stages.train(sys.argv[1], sys.argv[2], {"name": "mlp", "type": "mlp", "hidden": [16]}, fit, seed=1, threads=1)
threading = tf.config.threading
print(json.dumps({"threads": [threading.get_intra_op_parallelism_threads(), threading.get_inter_op_parallelism_threads()],
                  "loss": metrics["fit"]["final_loss"], "accuracy": metrics["accuracy"]}))
"""


@pytest.mark.slow
def test_train_limits_tensorflow_to_the_jobs_threads_and_stays_deterministic(problem, tmp_path):  # noqa: F811
    split, _ = problem
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name / "results/digits/mlp/train"
        proc = subprocess.run(
            [sys.executable, "-c", TRAIN_IN_A_FRESH_PROCESS, str(split.path), str(out)],
            capture_output=True, text=True, timeout=300, check=True, env={**os.environ, "PYTHONHASHSEED": "0"},
        )  # fmt: skip
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert runs[0]["threads"] == [1, 1]
    assert runs[0] == runs[1]  # the same seed gives the same numbers
