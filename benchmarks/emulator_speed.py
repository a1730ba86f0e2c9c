"""Time the bit-exact emulator against hls4ml's C simulation (g++ compile + predict) on the digits
MLP 64-32-32-10 the way hlsnake builds it: a float network at ap_fixed<16,6>, and the same network
pruned (50 %) and quantised with QKeras (6-bit weights and activations). Both paths score the test
and the validation split; the emulated and simulated outputs must be identical.

    PYTHONPATH=src python3 benchmarks/emulator_speed.py [--seed 1] [--epochs 30]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hlsnake import kerasenv  # noqa: F401  (first: Keras 2 for QKeras, tfmot and hls4ml)
from hlsnake import data, evaluation, hls, models, prune, quantize, training
from hlsnake.emulator import Emulator, compare

HLS = {"backend": "Vitis", "part": "xcu250-figd2104-2L-e", "clock_period": 5, "default_precision": "ap_fixed<16,6>"}
KNOBS = {"reuse_factor": 1, "strategy": "latency", "io_type": "io_parallel"}


def digits_split(workdir: Path, seed: int) -> data.Split:
    spec = {"name": "digits", "seed": seed, "test_fraction": 0.2, "validation_fraction": 0.2}
    data.prepare(spec, workdir / "digits.npz")
    return data.Split(workdir / "digits.npz")


def time_design(label: str, model, split: data.Split, workdir: Path) -> None:
    X = np.concatenate([split.xy("test")[0], split.xy("val")[0]])
    start = time.perf_counter()
    hls_model, _ = hls.convert(model, str(workdir / label), HLS, KNOBS)
    convert_s = time.perf_counter() - start

    start = time.perf_counter()
    emulator = Emulator(hls_model)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    emulated = emulator.predict(X)
    emulate_s = time.perf_counter() - start

    start = time.perf_counter()
    evaluation.compile_csim(hls_model)
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    simulated = evaluation.csim_predict(hls_model, X)
    predict_s = time.perf_counter() - start

    problem = compare(emulator, X, simulated)
    y = np.concatenate([split.xy("test")[1], split.xy("val")[1]])
    print(f"{label}: {len(X)} samples (test + validation)\n"
          f"  hls4ml conversion        {convert_s:7.2f} s (both paths)\n"
          f"  emulator                 {build_s + emulate_s:7.3f} s (build {build_s:.3f} s, predict {emulate_s:.3f} s)\n"
          f"  C simulation: g++        {compile_s:7.2f} s, predict {predict_s:.3f} s\n"
          f"  outputs identical: {problem is None}{'' if problem is None else ' -- ' + problem}\n"
          f"  accuracy (test+val): {np.mean(emulated.argmax(1) == y):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    kerasenv.seed_everything(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        split = digits_split(workdir, args.seed)
        train_cfg = {"epochs": args.epochs, "batch_size": 32, "learning_rate": 0.003, "patience": 5}
        model = models.build({"name": "mlp", "type": "mlp", "hidden": [32, 32]}, (split.n_features,), split.n_classes)
        training.fit(model, split, train_cfg)
        time_design("float MLP 64-32-32-10", model, split, workdir)
        pruned, _ = prune.prune(model, split, 0.5, {**train_cfg, "epochs": 8, "recovery_epochs": 2})
        qmodel, _, _ = quantize.quantize(pruned, split, 6, 6, {**train_cfg, "epochs": 8})
        time_design("pruned 50 % + QKeras 6-bit MLP", qmodel, split, workdir)


if __name__ == "__main__":
    main()
