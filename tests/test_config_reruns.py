"""A changed config reruns exactly the stages that read what changed, and the stages below
them: each rule passes the config sections its job reads as ``params`` (rules/*.smk,
``step_sections``), Snakemake keeps them in its metadata and reruns a job whose params
changed, and every job that reads that job's outputs.

Checked with dry runs on the finished reference run (:func:`conftest.reference_run`,
small_flow_config: train, prune_s0.50, quant_w4_a4 and quant_w6_a6, each with hls and
synthesis), with the changed config in a file of its own: the run's files stay as they were.
"""

import re
import subprocess

import pytest
import yaml

from conftest import small_flow_config, workflow_command, workflow_env

pytestmark = pytest.mark.workflow

# a job of a dry run: "rule <name>:" (or checkpoint), then its indented fields
JOB = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):\n((?:    .*\n)*)", re.M)
PARAMS_CHANGED = "Params have changed since last execution"
INPUT_UPDATED = "Input files updated by another job"


def planned(workdir, config, tmp_path) -> dict:
    """The jobs a dry run of ``config`` in ``workdir`` plans: each output -> (rule, reason)."""
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = workflow_command(workdir, None, "--configfile", str(path), "--dry-run")
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=600, env=workflow_env())
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    jobs = {}
    for rule, body in JOB.findall(proc.stdout):
        fields = dict(re.findall(r"^    (\w+): (.*)$", body, flags=re.M))
        for output in filter(None, fields.get("output", "").split(", ")):
            jobs[output] = (rule, fields.get("reason", ""))
    assert jobs, proc.stdout[-4000:]
    return jobs


def stage_records(workdir) -> set:
    """The record of every stage of the finished run (the data split, metrics, resources)."""
    return {
        str(path.relative_to(workdir))
        for name in ("split.npz", "metrics.json", "resources.json")
        for path in (workdir / "results").rglob(name)
    }


def test_changed_quantize_epochs_reruns_quantize_and_below_only(reference_run, tmp_path):
    records = stage_records(reference_run)
    assert len(records) == 9  # data, train, prune, 2 x (quantize, hls, synth)
    config = small_flow_config()
    config["quantize"] = {**config["quantize"], "epochs": config["quantize"]["epochs"] + 1}
    jobs = planned(reference_run, config, tmp_path)
    rerun = {path for path in jobs if path in records}
    below_quantize = {path for path in records if "/quant_" in path}
    assert len(below_quantize) == 6
    assert rerun == below_quantize  # not the data, train or prune stages
    for bits in (4, 6):
        quant = f"results/digits/mlp/train/prune_s0.50/quant_w{bits}_a{bits}"
        rule, reason = jobs[f"{quant}/metrics.json"]
        assert rule == "model_step" and PARAMS_CHANGED in reason  # its params: the quantize section
        for below in ("hls_rf1_latency_parallel/metrics.json", "hls_rf1_latency_parallel/synth_estimate/resources.json"):
            _, reason = jobs[f"{quant}/{below}"]
            assert INPUT_UPDATED in reason  # they read what quantize writes
    assert "results/digits/mlp/summary.csv" in jobs


def test_changed_seed_reruns_everything(reference_run, tmp_path):
    records = stage_records(reference_run)
    jobs = planned(reference_run, {**small_flow_config(), "seed": small_flow_config()["seed"] + 1}, tmp_path)
    assert {path for path in jobs if path in records} == records
    split = "results/digits/data/split.npz"
    rule, reason = jobs[split]
    assert rule == "prepare_data" and PARAMS_CHANGED in reason  # the seed draws the split
    for path in records - {split}:
        assert INPUT_UPDATED in jobs[path][1], (path, jobs[path])  # and every stage reads what it started
    assert "results/digits/mlp/summary.csv" in jobs
