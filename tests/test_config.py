import pandas as pd
import pytest

from hlsnake.config import ConfigError, load, validate

from conftest import REPO


def test_default_config_is_valid_and_filled():
    config = load(REPO / "config" / "config.yaml")
    assert config["dataset"]["name"] == "digits"
    assert config["hls"]["part"] == "xcu250-figd2104-2L-e"
    assert config["hls"]["clock_period"] == 5
    assert config["train"]["batch_size"] == 64  # a default from the schema
    assert config["synth"]["backend"] == "estimate"


@pytest.mark.parametrize(
    "raw, key",
    [
        ({"dataset": {"name": "mnist"}}, "dataset.name"),
        ({"designs": {"grid": {"sparsity": [1.0]}}}, "designs.grid.sparsity[0]"),
        ({"designs": {"grid": {"sparsity": [-0.1]}}}, "designs.grid.sparsity[0]"),
        ({"designs": {"grid": {"weight_bits": [1]}}}, "designs.grid.weight_bits[0]"),
        ({"designs": {"grid": {"weight_bits": [33]}}}, "designs.grid.weight_bits[0]"),
        ({"designs": {"grid": {"reuse_factor": [0]}}}, "designs.grid.reuse_factor[0]"),
        ({"hls": {"part": "not a part"}}, "hls.part"),
        ({"synth": {"backend": "magic"}}, "synth.backend"),
        ({"designs": {"flows": [[{"scal": {"width_factor": 0.5}}]]}}, "'scal'"),
        ({"trian": {"epochs": 3}}, "'trian'"),
        ({"results": "../outside"}, "results"),
    ],
)
def test_bad_values_name_their_key(raw, key):
    with pytest.raises(ConfigError) as err:
        validate(raw)
    assert key in str(err.value)


def test_per_layer_bits_must_match_the_model():
    with pytest.raises(ConfigError, match="weight_bits: 2 per-layer widths given, but the model has 3"):
        validate({"model": {"hidden": [8, 8]}, "designs": {"flows": [[{"quantize": {"weight_bits": [6, 6]}}]]}})


def test_file_dataset_needs_path_and_existing_file(tmp_path):
    with pytest.raises(ConfigError, match="dataset.path is required"):
        validate({"dataset": {"name": "file", "label": "y"}})
    with pytest.raises(ConfigError, match=r"dataset.path: data file .*nope.csv does not exist"):
        validate({"dataset": {"name": "file", "path": str(tmp_path / "nope.csv"), "label": "y"}})


def test_missing_label_column_is_named_with_a_suggestion(tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame({"a": range(10), "b": range(10), "target": [0, 1] * 5}).to_csv(path, index=False)
    with pytest.raises(ConfigError, match=r"no label column 'targt' \(config key dataset.label\); did you mean 'target'"):
        validate({"dataset": {"name": "file", "path": str(path), "label": "targt"}})


def test_vendor_backend_without_its_tool_names_tool_and_key(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ConfigError) as err:
        validate({"synth": {"backend": "vitis"}})
    assert "vitis_hls" in str(err.value) and "synth.backend" in str(err.value)


def test_the_order_of_keys_in_a_config_file_does_not_matter():
    """Rules get config sections as params, compared by their text: a reordered file reruns nothing."""
    first = validate({"seed": 2, "model": {"name": "mlp", "hidden": [8]}, "train": {"epochs": 3, "patience": 1}})
    second = validate({"train": {"patience": 1, "epochs": 3}, "model": {"hidden": [8], "name": "mlp"}, "seed": 2})
    assert repr(first) == repr(second)
    assert list(first["train"]) == sorted(first["train"])


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"results": "./results"}, "results"),
        ({"results": "out/"}, "results"),
        ({"model": {"name": "train"}}, "model.name: 'train' is a reserved directory name"),
        ({"dataset": {"tag": "data"}}, "dataset.tag: 'data' is a reserved directory name"),
        ({"flow": [{"prune": {"tolerance": 0.00555}}]}, "a directory name cannot hold this exactly"),
        ({"flow": [{"scale": {"width_factor": 0.8125}}]}, "a directory name cannot hold this exactly"),
        ({"flow": [{"quantize": {"weight_bits": 4, "tolerance": 0.01}}]}, "not both"),
        ({"flow": [{"quantize": {"activation_bits": 4}}]}, "activation_bits alone"),
        ({"flow": [{"hls": {"reuse_factor": [2, 4]}}]}, "reuse_factor: 2 per-layer widths given, but the model has 3"),
        ({"flow": ["quantize", {"branch": {"when": "DSP > 1", "then": "raise_reuse", "factor": 0.5}}]}, "must exceed 1"),
        ({"flow": ["quantize", {"branch": {"when": "DSP > 1", "then": "tighten", "task": "quantize", "factor": 2}}]}, "must be in (0, 1)"),
    ],
)
def test_designs_that_could_not_be_built_as_written_are_refused(raw, message):
    with pytest.raises(ConfigError) as err:
        validate(raw)
    assert message in str(err.value)
