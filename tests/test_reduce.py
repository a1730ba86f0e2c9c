"""A fork's reduce keeps the branch with the best objective, decided on the validation
split. Every number is written by hand into the branches' own records (the model's and the
hls stage's metrics.json, the synthesis stage's resources.json), and so is the expected
objective of each branch: nothing is recomputed from what the reduce wrote."""

import json

import pandas as pd
import pytest

from hlsnake import control
from hlsnake.artifacts import METRICS_FILE, MODEL_FILE, REDUCE_TABLE, RESOURCES_FILE
from hlsnake.evaluation import EMULATOR
from hlsnake.fileio import write_json

OBJECTIVE = "accuracy - LUT / 100000"


def branch(root, model_stage: str, test_accuracy: float, val_accuracy: float, lut: int, keras_val_accuracy: float = 0.5) -> str:
    """A finished design of one branch; its model file says which branch it is. The
    accuracies are the bit-accurate ones of its hls stage (its Keras model's are others)."""
    model = root / "results/digits/mlp/train" / model_stage
    synth = model / "hls_rf1_latency_parallel/synth_estimate"
    synth.mkdir(parents=True)
    (model / MODEL_FILE).write_bytes(model_stage.encode())
    keras = {"accuracy": 0.5, "val_accuracy": keras_val_accuracy, "sparsity": 0.0, "n_params": 1000}
    write_json(model / METRICS_FILE, keras)
    hls = {"accuracy": test_accuracy, "val_accuracy": val_accuracy, "agreement": 1.0, "evaluator": EMULATOR}
    write_json(model.joinpath("hls_rf1_latency_parallel", METRICS_FILE), hls)
    cost = {"source": "estimate", "DSP": 10, "LUT": lut, "FF": 100, "BRAM_18K": 0, "latency_cycles": 5, "interval": 1}
    write_json(synth / RESOURCES_FILE, cost)
    return str(synth)


def test_reduce_keeps_the_best_objective_on_the_validation_split(tmp_path):
    # the bit-accurate accuracy on the validation split decides: 0.95 - 0.05 = 0.90 against
    # 0.93 - 0.01 = 0.92. The test split (0.94 against 0.89) and the Keras models' validation
    # accuracy (0.94 against 0.89) favour the pruned branch.
    pruned = branch(tmp_path, "prune_s0.50", test_accuracy=0.99, val_accuracy=0.95, lut=5000, keras_val_accuracy=0.99)
    quantised = branch(tmp_path, "quant_w4_a4", test_accuracy=0.90, val_accuracy=0.93, lut=1000, keras_val_accuracy=0.90)
    out = tmp_path / "results/digits/mlp/train/reduce_0123abcd"
    metrics = control.reduce([pruned, quantised], OBJECTIVE, out)
    table = pd.read_csv(out / REDUCE_TABLE)
    assert table["objective"].tolist() == pytest.approx([0.90, 0.92])
    assert table["chosen"].tolist() == [False, True]
    assert metrics["reduce"]["chosen"] == quantised
    assert metrics["reduce"]["values"] == pytest.approx({pruned: 0.90, quantised: 0.92})
    assert (out / MODEL_FILE).read_bytes() == b"quant_w4_a4"  # the chosen branch's model
    assert json.loads((out / METRICS_FILE).read_text())["val_accuracy"] == 0.90  # and its model's record


def test_reduce_breaks_a_tie_by_the_order_of_the_branches(tmp_path):
    # (binary fractions: the two objectives are exactly equal)
    first = branch(tmp_path, "quant_w6_a6", test_accuracy=0.9, val_accuracy=0.75, lut=25000)  # 0.75 - 0.25 = 0.5
    second = branch(tmp_path, "quant_w4_a4", test_accuracy=0.9, val_accuracy=0.625, lut=12500)  # 0.625 - 0.125 = 0.5
    out = tmp_path / "results/digits/mlp/train/reduce_0123abcd"
    metrics = control.reduce([first, second], OBJECTIVE, out)
    assert metrics["reduce"]["values"] == {first: 0.5, second: 0.5}
    assert metrics["reduce"]["chosen"] == first
    assert (out / MODEL_FILE).read_bytes() == b"quant_w6_a6"
