"""What a user sees: progress while the workflow runs, and `snakemake --report` afterwards
(the summary table, the accuracy/cost plot and, once a search has run, its progress, with
captions, grouped by data set and model)."""

import base64
import json
import re
import shutil

import pytest
import yaml

from conftest import run_workflow, small_flow_config

pytestmark = pytest.mark.workflow

DESIGNS = ("prune_s0.50 quant_w4_a4", "prune_s0.50 quant_w6_a6")
# a search over the two designs the reference run has built: only its bookkeeping runs
SEARCH = {
    "budget": 2,
    "batch": 2,
    "startup": 2,
    "space": {"sparsity": {"choices": [0.5]}, "weight_bits": {"choices": [4, 6]}, "reuse_factor": {"choices": [1]}},
}


def report_data(path) -> dict:
    """The results, categories and description that Snakemake's HTML report embeds."""
    html = path.read_text()
    data = {name: json.loads(re.search(rf'var {name} = ([{{"].*?);\n', html).group(1)) for name in ("results", "categories", "workflow_desc")}
    for entry in data["results"].values():
        entry["bytes"] = base64.b64decode(entry["data_uri"].split("base64,", 1)[1])
    return data


def make_report(workdir, name: str, *targets: str) -> dict:
    run_workflow(workdir, None, *targets, "--report", name, "--configfile", str(workdir / "config.yaml"))
    return report_data(workdir / name)


@pytest.fixture(scope="module")
def reports(reference_run, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("report") / "flow"
    shutil.copytree(reference_run, workdir)  # keeps the mtimes and Snakemake's records
    before = make_report(workdir, "before.html")
    (workdir / "config.yaml").write_text(yaml.safe_dump({**small_flow_config(), "search": SEARCH}))
    run_workflow(workdir, None, "search", "--configfile", str(workdir / "config.yaml"))
    return before, make_report(workdir, "after.html", "all", "search"), workdir


def test_progress_shows_steps_and_a_line_per_design(reference_run):
    log = (reference_run / "run.log").read_text()
    steps = re.findall(r"^(\d+) of (\d+) steps \(\d+%\) done$", log, flags=re.M)
    checks = len(json.loads((reference_run / "results/digits/mlp/front.json").read_text())["hls"])
    # Snakemake's own progress, to the last job: 11 jobs, the front's list and its C simulations
    assert steps and steps[-1][0] == steps[-1][1] == str(12 + checks)
    for label in DESIGNS:
        design = "results/digits/mlp/train/" + label.replace(" ", "/") + "/hls_rf1_latency_parallel/synth_estimate"
        line = rf"^design {design}: accuracy 0\.\d+, DSP \d+, LUT \d+, FF \d+, latency \d+ cycles \[estimate"
        assert len(re.findall(line, log, flags=re.M)) == 1, label  # one line per finished design
        # the stages' own output is in their job's log, beside their files
        hls_log = (reference_run / design).parent / "job.log"
        assert re.search(rf"^hls: .*hls_rf1_latency_parallel: bit-accurate accuracy 0\.\d+", hls_log.read_text(), flags=re.M)
    # TensorFlow's and absl's start-up chatter stays in the jobs' logs
    assert not re.search(r"cuda|oneDNN|absl", log, flags=re.I), re.search(r".*(cuda|oneDNN|absl).*", log, flags=re.I)[0]
    assert re.search(r"trained \d+ epoch\(s\)", (reference_run / "results/digits/mlp/train/job.log").read_text())


def test_report_holds_table_plot_and_captions_per_dataset_and_model(reports):
    before, _, workdir = reports
    root = "results/digits/mlp"
    assert before["categories"] == {"digits/mlp": {"designs": [f"{root}/summary.csv", f"{root}/summary.html", f"{root}/summary.png"]}}
    table = before["results"][f"{root}/summary.html"]
    assert table["mime_type"] == "text/html" and "bit-accurate hls4ml model" in table["caption"]
    html = table["bytes"].decode()
    assert html.count("<tr") == 1 + len(DESIGNS)
    for text in ("accuracy", "DSP", "LUT", "latency_cycles", "LUT_err_pct", "pareto", *DESIGNS):  # estimates: with their errors
        assert f">{text}<" in html, text
    assert "validated median error" in table["caption"] and "docs/estimator.md" in table["caption"]
    plot = before["results"][f"{root}/summary.png"]
    assert plot["mime_type"] == "image/png" and "against DSP and against LUT" in plot["caption"]
    assert "error bars" in plot["caption"]
    assert plot["bytes"] == (workdir / root / "summary.png").read_bytes()
    assert "digits" in before["workflow_desc"] and "bit-accurate hls4ml model" in before["workflow_desc"]


def test_report_adds_the_search_once_it_has_run(reports):
    _, after, workdir = reports
    search = "results/digits/mlp/search"
    assert after["categories"]["digits/mlp"]["search"] == [f"{search}/fronts.png", f"{search}/pareto.csv", f"{search}/progress.png"]
    progress = after["results"][f"{search}/progress.png"]
    assert "Progress of the search" in progress["caption"] and "hypervolume" in progress["caption"]
    assert progress["bytes"] == (workdir / search / "progress.png").read_bytes()
    assert len(after["categories"]["digits/mlp"]["designs"]) == 3
