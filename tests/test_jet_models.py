"""The published jet-tagging networks (16-64-32-32-5; float, 70%/95% pruned, QKeras) through
hlsnake's hls4ml conversion, C simulation and estimator. No jet data set is available
offline, so the inputs are standardised random features: the check is the agreement of
the bit-accurate model with Keras, and the cost of the real trained weights."""

import numpy as np
import pytest

from conftest import JET_MODELS, require_fixtures

pytestmark = pytest.mark.slow  # trains, compiles C++ or runs a tool: not in the quick subset

HLS = {"backend": "Vitis", "part": "xcu250-figd2104-2L-e", "clock_period": 5, "default_precision": "ap_fixed<16,6>"}
KNOBS = {"reuse_factor": 1, "strategy": "latency", "io_type": "io_parallel"}


def _load(json_name: str, weights_name: str):
    from hlsnake import kerasenv

    require_fixtures(JET_MODELS)
    model = kerasenv.keras.models.model_from_json((JET_MODELS / json_name).read_text(), custom_objects=kerasenv.custom_objects())
    model.load_weights(str(JET_MODELS / weights_name))
    return model


def _agreement(model, tmp_path) -> float:
    from hlsnake import hls

    from hlsnake import evaluation

    hls_model, _ = hls.convert(model, str(tmp_path / "prj"), HLS, KNOBS)
    bit = evaluation.bit_accurate(hls_model, "csim")  # the real C simulation of the published networks
    X = np.random.default_rng(0).normal(size=(2000, 16)).astype(np.float32)
    return float(np.mean(bit.predict(X).argmax(1) == model.predict(X, verbose=0).argmax(1)))


def test_float_jet_tagger_simulates_like_keras(tmp_path):
    model = _load("KERAS_3layer.json", "KERAS_3layer_weights.h5")
    assert [layer.units for layer in model.layers if hasattr(layer, "units")] == [64, 32, 32, 5]
    assert _agreement(model, tmp_path) >= 0.95


def test_qkeras_jet_tagger_simulates_like_qkeras(tmp_path):
    assert _agreement(_load("qkeras_3layer.json", "qkeras_3layer_weights.h5"), tmp_path) >= 0.97


def test_estimated_dsps_fall_with_the_published_pruning(tmp_path):
    from hlsnake import hls
    from hlsnake.synth import estimate

    dsp = {}
    for name, weights in (("dense", "KERAS_3layer_weights.h5"), ("70%", "KERAS_3layer_70pruned_retrained_weights.h5"),
                          ("95%", "KERAS_3layer_95pruned_retrained_weights.h5")):  # fmt: skip
        hls_model, _ = hls.convert(_load("KERAS_3layer.json", weights), str(tmp_path / name), HLS, KNOBS)
        layers, values = hls.describe(hls_model)
        sparsity = 1 - sum(int(np.count_nonzero(v)) for v in values.values()) / sum(v.size for v in values.values())
        dsp[name] = (sparsity, estimate.estimate(layers, values, HLS["clock_period"])["DSP"])
    assert dsp["dense"][0] < 0.05 < 0.6 < dsp["70%"][0] < dsp["95%"][0]
    assert dsp["dense"][1] > dsp["70%"][1] > dsp["95%"][1]
