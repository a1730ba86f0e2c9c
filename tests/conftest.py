"""Shared test fixtures: paths to the repository and the shared fixtures, and a runner
for the real Snakemake workflow in a scratch directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures"
HLS_REPORTS = FIXTURES / "hls_reports"
HLS_REPORTS_MORE = FIXTURES / "hls_reports_more"
JET_MODELS = FIXTURES / "models" / "jet_dnn"


# The groups of tests that take minutes, longest first (pytest --durations): they start
# first, so that the two workers of the README's test command (pytest-xdist, -n 2) end together.
LONGEST_FIRST = ("reference_run", "test_control_workflow", "test_emulator", "test_search", "test_own_models", "test_workflow")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's, which reads the groups
def pytest_collection_modifyitems(items):
    """A test that runs the workflow is slow: ``pytest -m "not slow"`` leaves it out.

    Each test also gets an ``xdist_group`` (pyproject: ``--dist loadgroup``), so that one
    worker runs it with the rest of its group and each expensive fixture is built once: a
    module's tests form a group (its module fixtures), and so do all the modules that read
    the session's :func:`reference_run`. Groups stay whole and keep their order; the longest
    start first."""
    readers = {item.module.__name__ for item in items if "reference_run" in item.fixturenames}
    groups = {}
    for item in items:
        if item.get_closest_marker("workflow"):
            item.add_marker(pytest.mark.slow)
        module = item.module.__name__
        groups[item] = "reference_run" if module in readers else module
        item.add_marker(pytest.mark.xdist_group(groups[item]))
    rank = {group: LONGEST_FIRST.index(group) if group in LONGEST_FIRST else len(LONGEST_FIRST) for group in groups.values()}
    items.sort(key=lambda item: rank[groups[item]])  # a stable sort: the order within a rank stays


def require_fixtures(path: Path = FIXTURES) -> Path:
    """Skip (saying why) where the shared fixtures folder is absent."""
    if not path.exists():
        pytest.skip(f"shared fixtures not found at {path} (they live beside the project, in ../shared)")
    return path


def snakemake_cmd() -> list[str]:
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or shutil.which("snakemake")
    return [exe] if exe else [sys.executable, "-m", "snakemake"]


def workflow_command(workdir: Path, config: dict | None = None, *args: str) -> list[str]:
    """The snakemake command line for ``workdir`` (config written to workdir/config.yaml)."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [*snakemake_cmd(), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), "--cores", "2"]
    if config is not None:
        path = workdir / "config.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        cmd += ["--configfile", str(path)]
    return cmd + list(args)


def workflow_env(env: dict | None = None) -> dict:
    """The environment of a workflow run; ``env`` adds to (or overrides) it."""
    return {**os.environ, "PYTHONHASHSEED": "0", **(env or {})}


def run_workflow(workdir: Path, config: dict | None = None, *args: str, check: bool = True, timeout: int = 1800, env: dict | None = None):
    """Run the real workflow in ``workdir`` (see :func:`workflow_command`, :func:`workflow_env`)."""
    cmd = workflow_command(workdir, config, *args)
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=workflow_env(env))
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}")
    return proc


def tiny_config(**overrides) -> dict:
    """A config that runs in well under a minute per design on 2 cores."""
    config = {
        "results": "results",
        "seed": 3,
        "dataset": {"name": "digits"},
        "model": {"name": "mlp", "type": "mlp", "hidden": [16]},
        "train": {"epochs": 25, "patience": 5, "learning_rate": 0.005},
        "prune": {"epochs": 6, "recovery_epochs": 2, "learning_rate": 0.002},
        "quantize": {"epochs": 6, "learning_rate": 0.002},
        "designs": {"baseline": False, "grid": {"sparsity": [0.0], "weight_bits": [6], "reuse_factor": [1]}},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


def small_flow_config() -> dict:
    """tiny_config with one pruned network quantised twice: every model stage of a design,
    and jobs that run side by side (the config of the reproducibility, resume, report and
    SLURM tests, which all compare with :func:`reference_run`)."""
    return tiny_config(designs={"baseline": False, "grid": {"sparsity": [0.5], "weight_bits": [4, 6], "reuse_factor": [1]}})


def measured(workdir: Path) -> dict:
    """What a run measured: every metrics.json and resources.json under results/ (by path),
    without timings, and the summary table."""
    import json

    def untimed(value):
        if isinstance(value, dict):
            return {k: untimed(v) for k, v in value.items() if not k.endswith("seconds")}
        return [untimed(v) for v in value] if isinstance(value, list) else value

    results = workdir / "results"
    records = {
        str(path.relative_to(results)): untimed(json.loads(path.read_text()))
        for pattern in ("**/metrics.json", "**/resources.json")
        for path in results.glob(pattern)
    }
    records["summary"] = (results / "digits/mlp/summary.csv").read_text()
    return records


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory) -> Path:
    """:func:`small_flow_config` run once, locally, to completion (its output in run.log)."""
    workdir = tmp_path_factory.mktemp("reference")
    proc = run_workflow(workdir, small_flow_config())
    (workdir / "run.log").write_text(proc.stdout + proc.stderr)
    return workdir
