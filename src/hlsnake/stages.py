"""The entry point of every stage job: the Snakemake rule scripts only unpack their
``snakemake`` object and call these; tests call them directly.

Each stage writes its files atomically into its own directory (:mod:`hlsnake.artifacts`),
and its output (its progress, TensorFlow's, hls4ml's, the tools') into ``job.log`` there,
the file the rule names as its ``log:``. The stages that train or convert load TensorFlow
when they run, not when this module is imported: the synthesis, reduce and branch jobs
import it too, and stay fast.
"""

from __future__ import annotations

import time
from pathlib import Path

from . import control, data, synthesis
from .artifacts import LOG_FILE
from .joblog import log, redirected


def prepare_data(spec: dict, seed: int, out_path) -> dict:
    with redirected(Path(out_path).parent / LOG_FILE):
        start = time.time()
        summary = data.prepare({**spec, "seed": seed}, out_path)
        summary["seconds"] = time.time() - start
        log(f"prepare_data: {summary['dataset']}: {summary['n_train']} train / {summary['n_val']} val / {summary['n_test']} test")
        return summary


def train(data_path, out_dir, model_spec: dict, fit_cfg: dict, seed: int, threads: int | None = None) -> dict:
    """Train the float baseline; ``threads`` (the job's thread count) caps TensorFlow's pools."""
    with redirected(Path(out_dir) / LOG_FILE):
        from . import modelstages  # TensorFlow: see the module's docstring

        return modelstages.train(data_path, out_dir, model_spec, fit_cfg, seed, threads)


def model_step(
    data_path, parent_dir, out_dir, task: str, knobs: dict, sections: dict, seed: int, threads: int | None = None
) -> dict:
    """One model step of ``task`` (fixed knob or automatic under a tolerance) on the parent's
    model, reading the config ``sections`` the task declares (see :func:`hlsnake.modelstages.model_step`)."""
    with redirected(Path(out_dir) / LOG_FILE):
        from . import modelstages

        return modelstages.model_step(data_path, parent_dir, out_dir, task, knobs, sections, seed, threads)


def hls_convert(data_path, parent_dir, out_dir, hls_cfg: dict, knobs: dict) -> dict:
    """The hls4ml design of the parent's model and its bit-accurate accuracy."""
    with redirected(Path(out_dir) / LOG_FILE):
        from . import modelstages

        return modelstages.hls_convert(data_path, parent_dir, out_dir, hls_cfg, knobs)


def csim_check(data_path, parent_dir, hls_dir, hls_cfg: dict, knobs: dict, out_path) -> dict:
    """The C simulation of a design that reached a front, against its emulated accuracy."""
    with redirected(Path(out_path).with_suffix(".log")):
        from . import modelstages

        return modelstages.csim_check(data_path, parent_dir, hls_dir, hls_cfg, knobs, out_path)


def csynth(hls_dir, out_path, backend: str, hls_cfg: dict, synth_cfg: dict, data_path) -> dict:
    """Resources and latency of the design in ``hls_dir`` from the synthesis backend."""
    with redirected(Path(out_path).parent / LOG_FILE):
        return synthesis.csynth(hls_dir, out_path, backend, hls_cfg, synth_cfg, data_path)


def reduce(branch_paths: list[str], objective: str, out_dir) -> dict:
    """Keep the branch of a fork with the highest ``objective`` (see :func:`hlsnake.control.reduce`)."""
    with redirected(Path(out_dir) / LOG_FILE):
        return control.reduce(branch_paths, objective, out_dir)


def branch_check(iteration: int, design_path: str, when: str, out_path) -> dict:
    """Evaluate the branch predicate on one iteration's finished design."""
    with redirected(Path(out_path).with_suffix(".log")):
        return control.branch_check(iteration, design_path, when, out_path)


def branch_final(iteration_files: list, max_iterations: int, out_path) -> dict:
    with redirected(Path(out_path).parent / LOG_FILE):
        return control.branch_final(iteration_files, max_iterations, out_path)
