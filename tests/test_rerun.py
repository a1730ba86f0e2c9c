"""Running again. A run in another directory, with another hash seed, measures exactly
what the reference run measured, and every stage records what produced it. An
interrupted run resumes: a restart recomputes no finished stage and leaves no truncated
file.

Both with one real run (the second run of the config), interrupted three times as it
happens to users: SIGTERM (``kill``, or a batch system ending the allocation: Snakemake
finishes the running jobs), Ctrl-C (SIGINT to the whole process group: the running jobs
die), and SIGKILL of the whole group (a crash: the lock stays, and ``--unlock`` is needed
before the restart)."""

import hashlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from hlsnake.artifacts import LOG_FILE

from conftest import measured, run_workflow, small_flow_config, workflow_command, workflow_env
from test_workflow import job_counts

pytestmark = pytest.mark.workflow

MODEL_STAGES = {"prepare_data", "train", "model_step"}
# the reference run has 0: set and dict order must not reach the numbers; unbuffered, so
# that a job's start shows in the log when it happens (the interrupts are timed on it)
ENV = {"PYTHONHASHSEED": "random", "PYTHONUNBUFFERED": "1"}
PRUNED = "results/digits/mlp/train/prune_s0.50"


def reordered(value):
    """The same config with every mapping's keys in reverse order."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(list(value))}
    return value


def _interruptible() -> None:
    """Ctrl-C must reach snakemake even when the tests run in the background (a shell
    starts background commands with SIGINT ignored, and children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Run:
    """A snakemake process in its own process group (as a terminal runs it), logging to a file."""

    def __init__(self, workdir, config, name):
        self.log = workdir / f"{name}.log"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                workflow_command(workdir, config), cwd=workdir, env=workflow_env(ENV), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_interruptible,
            )

    stderr = ""  # both streams go to the log

    @property
    def stdout(self) -> str:
        return self.log.read_text()

    def wait_for(self, condition, what: str, timeout: float = 600) -> None:
        deadline = time.time() + timeout
        while not condition():
            assert self.proc.poll() is None, f"snakemake ended before {what}:\n{self.stdout[-4000:]}"
            assert time.time() < deadline, f"no {what} after {timeout} s:\n{self.stdout[-4000:]}"
            time.sleep(0.5)

    def started(self, rule: str, output: str = "") -> int:
        """Jobs of ``rule`` that started (with an output path containing ``output``)."""
        jobs = re.findall(rf"^(?:local)?rule {rule}:\n(?:    .*\n)*?    output: (.*)", self.stdout, flags=re.M)
        return sum(output in outputs for outputs in jobs)

    def stop(self, sig, group: bool) -> int:
        os.killpg(self.proc.pid, sig) if group else self.proc.send_signal(sig)
        return self.proc.wait(timeout=600)


def files(workdir) -> dict:
    """Every file under results/: its mtime and content digest."""
    return {
        str(p.relative_to(workdir)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted((workdir / "results").rglob("*"))
        if p.is_file()
    }


def assert_complete(workdir, temporaries_allowed: bool = False) -> None:
    """No truncated result: every JSON, CSV, NPZ, HDF5 and PNG file reads whole; and no
    temporary file of an atomic write is left (unless a SIGKILL may have cut one short)."""
    for path in (workdir / "results").rglob("*"):
        if not path.is_file() or "/prj/" in str(path):
            continue
        if path.name.startswith("."):
            assert temporaries_allowed, f"temporary file left behind: {path}"
            continue
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".csv":
            pd.read_csv(path)
        elif path.suffix == ".npz":
            with np.load(path) as arrays:
                [arrays[k] for k in arrays.files]
        elif path.suffix == ".h5":
            with h5py.File(path) as model:
                assert "model_weights" in model, path
        elif path.suffix == ".png":
            data = path.read_bytes()
            assert data.startswith(b"\x89PNG") and data.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82"), path


def unchanged(before: dict, after: dict) -> list:
    """Files of finished stages that changed. A job's log is written from its start: the log
    of a job that was interrupted belongs to no finished stage, and its rerun writes it anew."""
    finished = {Path(path).parent for path in before if not path.endswith(LOG_FILE)}
    return [path for path, stamp in before.items() if after.get(path) != stamp and Path(path).parent in finished]


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """The run, interrupted three times, then finished; what each step left."""
    workdir = tmp_path_factory.mktemp("resume")
    config = small_flow_config()
    runs, seen = [], {}
    try:
        # 1. SIGTERM to snakemake once pruning has finished and both quantisations run:
        #    it starts nothing new and waits for the running jobs.
        run = Run(workdir, config, "sigterm")
        runs.append(run)
        run.wait_for(lambda: (workdir / PRUNED / "metrics.json").exists() and run.started("model_step", "/quant_") == 2, "two quantize jobs")
        seen["sigterm_rc"] = run.stop(signal.SIGTERM, group=False)
        assert_complete(workdir)
        seen["after_sigterm"] = files(workdir)

        # 2. Restart (the config's keys in another order), Ctrl-C while hls4ml converts.
        run = Run(workdir, reordered(config), "sigint")
        runs.append(run)
        run.wait_for(lambda: run.started("hls_convert") >= 1, "an hls_convert job")
        time.sleep(1)  # inside the job (importing TensorFlow alone takes longer)
        seen["sigint_rc"] = run.stop(signal.SIGINT, group=True)
        seen["sigint_plan"] = job_counts(run)
        assert_complete(workdir)
        seen["after_sigint"] = files(workdir)

        # 3. Restart, SIGKILL to the whole group while a job runs (a crash).
        run = Run(workdir, config, "sigkill")
        runs.append(run)
        run.wait_for(lambda: run.started(r"\w+") >= 1, "a job")
        time.sleep(1)
        run.stop(signal.SIGKILL, group=True)
        assert_complete(workdir, temporaries_allowed=True)
        seen["after_sigkill"] = files(workdir)
    finally:
        for run in runs:
            if run.proc.poll() is None:
                run.stop(signal.SIGKILL, group=True)

    seen["locked"] = run_workflow(workdir, config, check=False, env=ENV)
    run_workflow(workdir, config, "--unlock", env=ENV)
    seen["final"] = run_workflow(workdir, config, "--rerun-incomplete", env=ENV)
    seen["after_final"] = files(workdir)
    return workdir, seen


def test_sigterm_lets_the_running_jobs_finish(interrupted):
    _, seen = interrupted
    assert seen["sigterm_rc"] != 0  # the run did not complete
    for bits in (4, 6):
        assert f"{PRUNED}/quant_w{bits}_a{bits}/metrics.json" in seen["after_sigterm"]
    assert not any("/hls_" in path for path in seen["after_sigterm"])


def test_a_restart_recomputes_no_finished_stage(interrupted):
    _, seen = interrupted
    assert seen["sigint_plan"] and not MODEL_STAGES & set(seen["sigint_plan"])  # even with the config keys reordered
    final = job_counts(seen["final"])
    assert final["all"] == 1 and not MODEL_STAGES & set(final)
    for before, after in (("after_sigterm", "after_sigint"), ("after_sigint", "after_sigkill"), ("after_sigint", "after_final")):
        assert not unchanged(seen[before], seen[after]), f"{before} -> {after}: recomputed"


def test_after_a_crash_the_lock_asks_for_unlock(interrupted):
    _, seen = interrupted
    locked = seen["locked"]
    assert locked.returncode != 0
    assert "--unlock" in locked.stdout + locked.stderr
    assert "Traceback" not in locked.stdout + locked.stderr


def test_the_resumed_run_is_complete(interrupted):
    workdir, _ = interrupted
    assert_complete(workdir, temporaries_allowed=True)


def test_a_second_run_measures_exactly_the_same(interrupted, reference_run):
    first, second = measured(reference_run), measured(interrupted[0])
    assert sorted(first) == sorted(second)
    assert len(first) == 9  # train, prune, 2 x (quantize, hls, synth), the summary
    different = [path for path in first if first[path] != second[path]]
    assert not different, f"differ between two runs: {different}"


def test_the_hardware_weights_are_bit_identical(interrupted, reference_run):
    paths = sorted(p.relative_to(reference_run) for p in reference_run.glob("results/**/weights.npz"))
    assert len(paths) == 2
    for path in paths:
        with np.load(reference_run / path) as a, np.load(interrupted[0] / path) as b:
            assert a.files == b.files
            for name in a.files:
                np.testing.assert_array_equal(a[name], b[name], err_msg=f"{path}: {name}")


def test_every_stage_records_config_versions_and_tools(reference_run):
    config = small_flow_config()
    results = reference_run / "results/digits/mlp/train"
    expected = {
        results: {"model", "train", "seed", "dataset"},
        results / "prune_s0.50": {"prune", "seed", "dataset"},
        results / "prune_s0.50/quant_w6_a6": {"quantize", "seed", "dataset"},
        results / "prune_s0.50/quant_w6_a6/hls_rf1_latency_parallel": {"hls"},
    }
    for stage, sections in expected.items():
        record = json.loads((stage / "metrics.json").read_text())["provenance"]
        assert set(record["config"]) == sections, stage
        for package in ("tensorflow", "tf-keras", "qkeras", "tensorflow-model-optimization", "hls4ml", "numpy", "scikit-learn"):
            assert record["packages"][package], (stage, package)
        assert record["tools"]["g++"].startswith("g++"), stage
        assert record["python"] and record["platform"]
        if "seed" in sections:  # the resolved sections: the config's values with the schema's defaults
            assert record["config"]["seed"] == config["seed"]
            assert record["config"]["dataset"] == {**record["config"]["dataset"], "name": "digits", "seed": config["seed"]}
    train = json.loads((results / "metrics.json").read_text())["provenance"]["config"]
    assert train["train"]["epochs"] == config["train"]["epochs"] and train["train"]["batch_size"] == 64  # a schema default
    synth = json.loads((results / "prune_s0.50/quant_w6_a6/hls_rf1_latency_parallel/synth_estimate/resources.json").read_text())
    assert synth["provenance"]["config"]["synth"]["backend"] == "estimate"
    assert synth["provenance"]["config"]["hls"]["part"] == "xcu250-figd2104-2L-e"
