"""One function per workflow stage: read the parent stage's files, do the work with the
real library, write this stage's files atomically. The Snakemake rule scripts only
unpack their ``snakemake`` object and call these; tests call them directly.

Model stages write ``model.h5`` and ``metrics.json``; the hls stage writes the hls4ml
project, ``metrics.json`` and the hardware description (``layers.json``, ``weights.npz``);
a synth stage writes ``resources.json``.
"""

from __future__ import annotations

import platform
import time
import zlib
from importlib import metadata
from pathlib import Path

import numpy as np

from .fileio import atomic_path, read_json, write_json

MODEL_FILE = "model.h5"
METRICS_FILE = "metrics.json"
LAYERS_FILE = "layers.json"
WEIGHTS_FILE = "weights.npz"
RESOURCES_FILE = "resources.json"
PACKAGES = ("hlsnake", "tensorflow", "tf-keras", "qkeras", "tensorflow-model-optimization", "hls4ml", "snakemake", "numpy")


def stage_seed(seed: int, stage_dir) -> int:
    """A seed per stage from the config seed and the stage's path below the results root,
    so that a stage gets the same seed whatever order the jobs run in."""
    parts = Path(stage_dir).parts
    key = "/".join(parts[parts.index("train") - 2 :] if "train" in parts else parts)
    return (int(seed) * 1_000_003 + zlib.crc32(key.encode())) % (2**31 - 1)


def provenance(config_section: dict | None = None) -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"packages": versions, "python": platform.python_version(), "config": config_section or {}}


def _log(message: str) -> None:
    print(message, flush=True)


# -- data ------------------------------------------------------------------------------


def prepare_data(spec: dict, seed: int, out_path) -> dict:
    from . import data

    start = time.time()
    summary = data.prepare({**spec, "seed": seed}, out_path)
    summary["seconds"] = time.time() - start
    _log(f"prepare_data: {summary['dataset']}: {summary['n_train']} train / {summary['n_val']} val / {summary['n_test']} test")
    return summary


# -- model stages ----------------------------------------------------------------------


def _save_model_stage(model, split, out_dir: Path, stage: str, params: dict, extra: dict, config_section: dict, start: float):
    from .models import sparsity_per_layer, total_sparsity
    from .training import accuracy, count_params

    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = {
        "stage": stage,
        "params": params,
        "accuracy": accuracy(model, split, "test"),
        "val_accuracy": accuracy(model, split, "val"),
        "n_params": count_params(model),
        "sparsity": total_sparsity(model),
        "sparsity_per_layer": sparsity_per_layer(model),
        "seconds": time.time() - start,
        **extra,
        "provenance": provenance(config_section),
    }
    with atomic_path(out_dir / MODEL_FILE) as tmp:
        model.save(tmp, save_format="h5")
    write_json(out_dir / METRICS_FILE, metrics)
    _log(f"{stage}: {out_dir}: test accuracy {metrics['accuracy']:.4f}, sparsity {metrics['sparsity']:.2f}")
    return metrics


def train(data_path, out_dir, model_spec: dict, fit_cfg: dict, seed: int) -> dict:
    from .data import Split
    from .kerasenv import seed_everything
    from .models import build, input_shape_for
    from .training import fit

    start, out_dir = time.time(), Path(out_dir)
    seed_everything(stage_seed(seed, out_dir))
    split = Split(data_path)
    shape = input_shape_for(model_spec, split.n_features, split.image_shape)
    model = build(model_spec, shape, split.n_classes)
    history = fit(
        model,
        split,
        epochs=fit_cfg["epochs"],
        batch_size=fit_cfg["batch_size"],
        learning_rate=fit_cfg["learning_rate"],
        patience=fit_cfg["patience"],
        log=_log,
    )
    return _save_model_stage(model, split, out_dir, "train", {}, {"fit": history}, {"model": model_spec, "train": fit_cfg}, start)


def prune(data_path, parent_dir, out_dir, sparsity: float, cfg: dict, seed: int) -> dict:
    from . import prune as pruning
    from .data import Split
    from .kerasenv import load_model, seed_everything

    start, out_dir = time.time(), Path(out_dir)
    seed_everything(stage_seed(seed, out_dir))
    split = Split(data_path)
    model, history = pruning.prune(load_model(Path(parent_dir) / MODEL_FILE), split, sparsity, cfg, log=_log)
    return _save_model_stage(model, split, out_dir, "prune", {"sparsity": sparsity}, {"fit": history}, {"prune": cfg}, start)


def quantize(data_path, parent_dir, out_dir, weight_bits, activation_bits, cfg: dict, seed: int) -> dict:
    from . import quantize as quantization
    from .data import Split
    from .kerasenv import load_model, seed_everything

    start, out_dir = time.time(), Path(out_dir)
    seed_everything(stage_seed(seed, out_dir))
    split = Split(data_path)
    parent = load_model(Path(parent_dir) / MODEL_FILE)
    model, precisions, history = quantization.quantize(parent, split, weight_bits, activation_bits, cfg, log=_log)
    params = {"weight_bits": weight_bits, "activation_bits": activation_bits}
    extra = {"fit": history, "quantizers": precisions}
    return _save_model_stage(model, split, out_dir, "quantize", params, extra, {"quantize": cfg}, start)


# -- hls4ml ----------------------------------------------------------------------------


def hls_convert(data_path, parent_dir, out_dir, hls_cfg: dict, knobs: dict) -> dict:
    """Convert to an hls4ml project, compile it with g++, and score it bit-accurately."""
    from . import hls
    from .data import Split
    from .kerasenv import load_model

    start, out_dir = time.time(), Path(out_dir)
    split = Split(data_path)
    model = load_model(Path(parent_dir) / MODEL_FILE)
    hls_model, notes = hls.convert(model, str(out_dir / "prj"), hls_cfg, knobs)
    hls.compile_model(hls_model)
    compiled = time.time()
    scores = hls.score(hls_model, model, split)
    layers, weights = hls.describe(hls_model)
    write_json(out_dir / LAYERS_FILE, {"clock_period": hls_cfg["clock_period"], "part": hls_cfg["part"], "layers": layers})
    with atomic_path(out_dir / WEIGHTS_FILE, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **weights)
    metrics = {
        "stage": "hls",
        "params": knobs,
        **scores,
        "conversion_notes": notes,
        "compile_seconds": compiled - start,
        "seconds": time.time() - start,
        "provenance": {**provenance({"hls": hls_cfg}), "tools": hls.tool_versions()},
    }
    write_json(out_dir / METRICS_FILE, metrics)
    _log(
        f"hls: {out_dir}: bit-accurate accuracy {scores['accuracy']:.4f} "
        f"(Keras {scores['keras_accuracy']:.4f}, agreement {scores['agreement']:.4f})"
    )
    return metrics


# -- synthesis -------------------------------------------------------------------------


def load_description(hls_dir) -> tuple[dict, dict]:
    hls_dir = Path(hls_dir)
    description = read_json(hls_dir / LAYERS_FILE)
    with np.load(hls_dir / WEIGHTS_FILE) as f:
        weights = {k: f[k] for k in f.files}
    return description, weights


def csynth(hls_dir, out_path, backend: str, hls_cfg: dict, synth_cfg: dict, data_path) -> dict:
    """Resources and latency of the design in ``hls_dir`` from the synthesis backend."""
    from . import synth

    start, hls_dir, out_path = time.time(), Path(hls_dir), Path(out_path)
    job = synth.SynthJob(
        hls_dir=hls_dir,
        model_dir=hls_dir.parent,
        data_path=Path(data_path),
        out_dir=out_path.parent,
        hls=hls_cfg,
        synth=synth_cfg,
    )
    result = synth.run(backend, job)
    result["seconds"] = time.time() - start
    write_json(out_path, result)
    _log(
        f"csynth ({result['source']}): {out_path}: DSP {result['DSP']}, LUT {result['LUT']}, "
        f"latency {result['latency_cycles']} cycles"
    )
    return result
