"""A design's own failures are recorded where they happen, with real training, hls4ml and
g++ (a NaN loss, a layer hls4ml cannot convert, generated C++ that g++ rejects); a bug of
ours on the same paths fails the job and writes nothing. The synthesis timeout is tested
with the vendor backends (test_vendor.py); the rule itself in test_search.py."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from hlsnake import artifacts, data, evaluation, failures, hls, kerasenv, training
from hlsnake.kerasenv import keras
from test_task_failures import break_cpp

pytestmark = pytest.mark.slow  # trains, compiles C++ or runs a tool: not in the quick subset

HLS = {"backend": "Vitis", "part": "xcu250-figd2104-2L-e", "clock_period": 5, "default_precision": "ap_fixed<16,6>"}
KNOBS = {"reuse_factor": 1, "strategy": "latency", "io_type": "io_parallel"}
FIT = {"epochs": 2, "batch_size": 64, "learning_rate": 0.005, "patience": None}


def _job(out_dir: Path) -> SimpleNamespace:
    """What a stage's rule script gets: its outputs (a model stage's here)."""
    return SimpleNamespace(input=[], output=[str(out_dir / "model.h5"), str(out_dir / "metrics.json")])


def _mlp(n_in: int = 64) -> keras.Model:
    return keras.Sequential([keras.layers.Input((n_in,)), keras.layers.Dense(8, name="fc1"), keras.layers.Dense(10, name="out")])


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "split.npz"
    data.prepare({"name": "digits", "seed": 0, "test_fraction": 0.2, "validation_fraction": 0.2, "max_samples": 300}, path)
    return data.Split(path)


def _recorded(out_dir: Path, reason: str) -> dict:
    record = artifacts.stage_failure(out_dir)
    assert record is not None, f"no failure record in {out_dir}"
    assert record["failed_stage"] == out_dir.name and record["reason"].startswith(reason), record["reason"]
    assert (out_dir / "model.h5").stat().st_size == 0  # the other outputs are empty placeholders
    return record


# -- training ---------------------------------------------------------------------------


def test_a_nan_loss_is_the_designs_failure(split, tmp_path):
    kerasenv.seed_everything(0)
    diverging = {**FIT, "learning_rate": float("nan")}  # Adam with a NaN step: NaN weights and loss at once
    out = tmp_path / "prune_s0.90"
    assert failures.run_stage(_job(out), training.fit, _mlp(), split, diverging, log=print) is None
    _recorded(out, "TrainingDiverged: training diverged: loss became nan")


def test_a_bug_in_training_is_not(split, tmp_path):
    out = tmp_path / "prune_s0.90"
    with pytest.raises(KeyError):  # a config section without its learning rate: our bug, not the design's
        failures.run_stage(_job(out), training.fit, _mlp(), split, {"epochs": 1, "batch_size": 64}, log=print)
    assert not out.exists()


# -- hls4ml: conversion ---------------------------------------------------------------------


def test_a_layer_hls4ml_cannot_convert_is_the_designs_failure(tmp_path):
    model = keras.Sequential([keras.layers.Input((8,)), keras.layers.Dense(4, name="fc1"), keras.layers.Lambda(lambda x: 2 * x)])
    out = tmp_path / "hls_rf1_latency_parallel"
    assert failures.run_stage(_job(out), hls.convert, model, str(out / "prj"), HLS, KNOBS) is None
    record = _recorded(out, "ConversionFailed: hls4ml could not convert the design: ")
    assert "Lambda" in record["reason"]


def test_a_bug_on_the_way_to_hls4ml_is_not(tmp_path):
    out = tmp_path / "hls_rf1_latency_parallel"
    with pytest.raises(KeyError, match="default_precision"):  # our config, not hls4ml's verdict on the design
        failures.run_stage(_job(out), hls.convert, _mlp(8), str(out / "prj"), {"backend": "Vitis"}, KNOBS)
    assert not out.exists()


# -- hls4ml: g++ ----------------------------------------------------------------------------


@pytest.fixture
def broken_cpp(tmp_path):
    """A converted design whose generated C++ g++ rejects (an #error after hls4ml writes it)."""
    hls_model, _ = hls.convert(_mlp(8), str(tmp_path / "scratch" / "prj"), HLS, KNOBS)
    break_cpp(hls_model)
    return hls_model


def test_a_compile_error_of_the_generated_cpp_is_the_designs_failure(broken_cpp, tmp_path):
    out = tmp_path / "hls_rf1_latency_parallel"
    assert failures.run_stage(_job(out), evaluation.compile_csim, broken_cpp) is None
    record = _recorded(out, 'CompileFailed: hls4ml could not compile the design\'s C++: Exception: Failed to compile project "myproject"')
    assert "#error this design does not compile" in record["reason"]  # g++'s own words


def test_no_compiler_and_a_bug_of_ours_are_not(broken_cpp, tmp_path, monkeypatch):
    out = tmp_path / "hls_rf1_latency_parallel"
    with pytest.raises(AttributeError):  # not an hls4ml model: our bug
        failures.run_stage(_job(out), evaluation.compile_csim, object())
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(RuntimeError, match="needs g\\+\\+ on PATH"):  # no design is to blame for a missing g++
        failures.run_stage(_job(out), evaluation.compile_csim, broken_cpp)
    assert not out.exists()
