"""A user's own pretrained Keras model through the real workflow: the published jet-tagging
network (16-64-32-32-5), on inputs labelled by its own predictions (its data set is not
here), pruned, quantised, converted and estimated; the baseline is the model as it is."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import JET_MODELS, require_fixtures, run_workflow, tiny_config
from hlsnake import kerasenv
from hlsnake.modelspec import file_digest

import selflabel

pytestmark = pytest.mark.workflow
FLOW = [{"prune": {"sparsity": 0.5}}, {"quantize": {"weight_bits": 8}}]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    require_fixtures(JET_MODELS)
    workdir = tmp_path_factory.mktemp("own")
    model = kerasenv.keras.models.model_from_json((JET_MODELS / "KERAS_3layer.json").read_text())
    model.load_weights(str(JET_MODELS / "KERAS_3layer_weights.h5"))
    model.save(workdir / "tagger.h5")
    table = selflabel.file_labelled_by(model, np.random.default_rng(0).normal(size=(30000, 16)), workdir / "jets.csv")
    table.groupby("class").head(300).to_csv(workdir / "jets.csv", index=False)  # at most 300 of each class
    config = tiny_config(
        dataset={"name": "file", "path": "jets.csv", "label": "class"},
        model={"name": "tagger", "type": "keras", "path": "tagger.h5", "pretrained": True},
        designs={"baseline": True, "grid": None, "flows": [FLOW]},
    )
    run_workflow(workdir, config)
    return workdir, config


def test_the_baseline_is_the_model_as_it_is(finished):
    workdir, _ = finished
    summary = pd.read_csv(workdir / "results/file/tagger/summary.csv").set_index("label")
    # the labels are its own classes, and the features reach it as the file holds them
    assert summary.loc["float", "keras_accuracy"] == 1.0
    assert summary.loc["float", "accuracy"] >= 0.97  # hls4ml at ap_fixed<16,6> against the float network
    metrics = json.loads((workdir / "results/file/tagger/train/metrics.json").read_text())
    assert metrics["fit"] is None and metrics["n_params"] == 16 * 64 + 64 + 64 * 32 + 32 + 32 * 32 + 32 + 32 * 5 + 5
    assert metrics["provenance"]["config"]["model"]["file_digest"] == file_digest(workdir / "tagger.h5")


def test_the_tasks_measure_the_agreement_they_keep(finished):
    workdir, _ = finished
    summary = pd.read_csv(workdir / "results/file/tagger/summary.csv").set_index("label")
    optimised = summary.loc["prune_s0.50 quant_w8_a8"]
    assert optimised["status"] == "ok" and optimised["sparsity_measured"] == pytest.approx(0.5, abs=0.01)
    assert optimised["accuracy"] > 0.8 and abs(optimised["accuracy"] - optimised["keras_accuracy"]) <= 0.02
    assert optimised["LUT"] < summary.loc["float", "LUT"] and optimised["DSP"] < summary.loc["float", "DSP"]


def test_a_new_version_of_the_model_file_reruns_what_it_starts(finished):
    workdir, config = finished
    assert "Nothing to be done" in run_workflow(workdir, config, "--dry-run").stdout
    (workdir / "tagger.h5").touch()  # the same content: Snakemake compares the file's checksum
    assert "Nothing to be done" in run_workflow(workdir, config, "--dry-run").stdout
    model = kerasenv.load_model(workdir / "tagger.h5")
    first = next(layer for layer in model.layers if layer.get_weights())
    first.set_weights([w * 1.01 for w in first.get_weights()])
    model.save(workdir / "tagger.h5")
    plan = run_workflow(workdir, config, "--dry-run").stdout
    assert "rule train:" in plan and "prepare_data" not in plan
