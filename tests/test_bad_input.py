"""Bad input through the real `snakemake` command: it stops while the Snakefile is read,
before any job, with a message that names the key, file or column and no traceback, and
no value can place a file outside the working directory."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO, run_workflow, tiny_config

pytestmark = pytest.mark.workflow

TABLE = pd.DataFrame({"a": np.arange(30.0), "b": np.arange(30.0) % 7, "target": ["x", "y", "z"] * 10})
TABLES = {  # file name -> table (None: an empty file)
    "good.csv": TABLE,
    "empty.csv": None,
    "nan.csv": TABLE.assign(a=[1.0, np.nan] + list(range(28))),
    "text.csv": TABLE.assign(b=["1.5"] * 29 + ["abc"]),
    "few.csv": TABLE.assign(target=["x"] * 14 + ["y"] * 14 + ["z"] * 2),
}


def _file(name: str, label: str = "target") -> dict:
    return {"dataset": {"name": "file", "path": f"{{data}}/{name}", "label": label}}


def _flow(*steps) -> dict:
    return {"designs": {"baseline": False, "flows": [list(steps)]}}


def _user_model(name: str) -> dict:
    return {"model": {"name": "mine", "type": "keras", "path": f"{{data}}/{name}"}}


def _write_models(folder: Path) -> None:
    """Keras model files that cannot run on digits (64 features, 10 classes), and a corrupt one."""
    from hlsnake.kerasenv import keras

    def net(n_in, *layers):
        return keras.Sequential([keras.layers.InputLayer(input_shape=(n_in,)), keras.layers.Dense(8), *layers])

    net(64, keras.layers.Dense(3, activation="softmax")).save(folder / "three_classes.h5")
    net(32, keras.layers.Dense(10, activation="softmax")).save(folder / "narrow_input.h5")
    net(64, keras.layers.LayerNormalization(name="norm"), keras.layers.Dense(10, activation="softmax")).save(folder / "layernorm.h5")
    (folder / "corrupt.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)  # an HDF5 signature, then nothing


def _grid(**knobs) -> dict:
    return {"designs": {"baseline": False, "grid": {"sparsity": [0.0], "weight_bits": [6], "reuse_factor": [1], **knobs}}}


# case -> (config overrides, what the message must say)
CASES = {
    "unknown dataset": ({"dataset": {"name": "mnist"}}, "dataset.name: 'mnist' is not one of ['digits', 'jets', 'file']"),
    "missing data file": (_file("nope.csv"), "dataset.path: data file {data}/nope.csv does not exist"),
    "empty data file": (_file("empty.csv"), "dataset.path: data file {data}/empty.csv is empty"),
    "missing label column": (_file("good.csv", "label"), "has no label column 'label' (config key dataset.label)"),
    "misspelt label column": (_file("good.csv", "targt"), "no label column 'targt' (config key dataset.label); did you mean 'target'?"),
    "NaN feature": (_file("nan.csv"), "{data}/nan.csv: feature column 'a' has 1 NaN/infinite value(s), first at row 1"),
    "non-numeric feature": (_file("text.csv"), "{data}/text.csv: feature column 'b' is not numeric"),
    "class too small to split": (_file("few.csv"), "column 'target': class 'z' has only 2 sample(s); at least 3 are needed"),
    "sparsity 1": (_grid(sparsity=[1.0]), "designs.grid.sparsity[0]: 1.0 is greater than or equal to the maximum of 1"),
    "sparsity < 0": (_flow({"prune": {"sparsity": -0.1}}), "designs.flows[0][0].prune.sparsity: -0.1 is less than the minimum of 0"),
    "bit width 1": (_grid(weight_bits=[1]), "designs.grid.weight_bits[0]: 1 is less than the minimum of 2"),
    "bit width 33": (_flow({"quantize": {"weight_bits": 33}}), "designs.flows[0][0].quantize.weight_bits: 33 is greater than the maximum of 32"),
    "reuse factor 0": (_grid(reuse_factor=[0]), "designs.grid.reuse_factor[0]: 0 is less than the minimum of 1"),
    "unknown task": (_flow("prune", "quantise"), "designs.flows[0][1]: 'quantise' is not one of ['scale', 'prune', 'quantize', 'hls']"),
    "unknown task with knobs": (_flow({"scal": {"width_factor": 0.5}}), "unknown key(s) 'scal' in designs.flows[0][0]; expected one of: branch, fork"),
    "tolerance < 0": (_flow({"prune": {"tolerance": -0.01}}), "designs.flows[0][0].prune.tolerance: -0.01 is less than the minimum of 0"),
    "default tolerance < 0": ({"tolerances": {"quantize": -0.5}}, "tolerances.quantize: -0.5 is less than the minimum of 0"),
    "FPGA part": ({"hls": {"part": "virtex7"}}, "hls.part: 'virtex7' does not match"),
    "FPGA part with a shell command": ({"hls": {"part": "xcu250-figd2104-2L-e; touch pwned"}}, "hls.part: 'xcu250-figd2104-2L-e; touch pwned' does not match"),
    "search budget 0": ({"search": {"budget": 0}}, "search.budget: 0 is less than the minimum of 1"),
    "unknown synthesis backend": ({"synth": {"backend": "magic"}}, "synth.backend: 'magic' is not one of ['auto', 'estimate'"),
    "results outside": ({"results": "../outside"}, "results: '../outside' must be a relative path inside the working directory"),
    "model name with a path": ({"model": {"name": "../../outside"}}, "model.name: '../../outside' does not match"),
    "dataset tag with a path": ({"dataset": {"name": "digits", "tag": "a/../../outside"}}, "dataset.tag: 'a/../../outside' does not match"),
    "own model without a file": ({"model": {"type": "keras"}}, "model.path is required when model.type is 'keras'"),
    "missing model file": (_user_model("nope.h5"), "model.path: model file {data}/nope.h5 does not exist"),
    "corrupt model file": (_user_model("corrupt.h5"), "model.path: model file {data}/corrupt.h5 could not be read as a Keras model"),
    "unsupported layer": (_user_model("layernorm.h5"), "layer 'norm' is a LayerNormalization, which hlsnake does not support. Supported layers: weight layer: Dense, Conv1D"),
    "model output vs classes": (_user_model("three_classes.h5"), "the model output has 3 unit(s), but the data set has 10 classes"),
    "model input vs features": (_user_model("narrow_input.h5"), "the model input [32] holds 32 values, but the data has 64 features (images 8x8x1)"),
}

# targets that try to reach outside results/ (or the working directory) through the wildcards
ESCAPES = [
    "../outside/digits/mlp/train/model.h5",
    "results/../../outside/mlp/train/model.h5",
    "results/digits/mlp/train/prune_s0.50/../../../../../outside/model.h5",
]


def _fill(value, data: Path):
    if isinstance(value, dict):
        return {k: _fill(v, data) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, data) for v in value]
    return value.replace("{data}", str(data)) if isinstance(value, str) else value


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case and every escape run through snakemake (a few at a time: each is a
    Python process that reads the Snakefile, ~2 s)."""
    data = tmp_path_factory.mktemp("data")
    for name, table in TABLES.items():
        (data / name).write_text("") if table is None else table.to_csv(data / name, index=False)
    _write_models(data)
    runs = {}
    for case, (overrides, message) in CASES.items():
        workdir = tmp_path_factory.mktemp("bad") / "work"
        runs[case] = (workdir, [_fill(tiny_config(**overrides), data)], _fill(message, data))
    for target in ESCAPES:
        workdir = tmp_path_factory.mktemp("escape") / "work"
        workdir.mkdir()
        (workdir / "config.yaml").write_text(yaml.safe_dump(tiny_config()))
        runs[target] = (workdir, [None, target, "--configfile", str(workdir / "config.yaml")], None)  # the target before --configfile
    with ThreadPoolExecutor(max_workers=3) as pool:
        procs = dict(zip(runs, pool.map(lambda r: run_workflow(r[0], *r[1], check=False), runs.values())))
    return {key: (workdir, message, procs[key]) for key, (workdir, _, message) in runs.items()}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_stops_before_any_work_naming_the_culprit(outcomes, case):
    workdir, message, proc = outcomes[case]
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert message in output, output[-2000:]
    assert "Traceback" not in output
    assert not (workdir / "results").exists() and not (workdir.parent / "outside").exists()


@pytest.mark.parametrize("target", ESCAPES)
def test_no_target_escapes_the_results_directory(outcomes, target):
    workdir, _, proc = outcomes[target]
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "MissingRuleException" in output and "No rule to produce" in output, output[-2000:]
    assert not (workdir / "results").exists()
    assert not (workdir.parent / "outside").exists()


def test_no_rule_runs_a_shell_command():
    """Config values reach the rules' scripts as Python objects (script:), never a shell command line."""
    rules = [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]
    offending = [f"{path.name}:{n}" for path in rules for n, line in enumerate(path.read_text().splitlines(), 1) if line.strip() == "shell:"]
    assert not offending
