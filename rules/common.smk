# What the rules share: wildcard constraints and input, param and resource functions.
# Every directory name is a task's (src/hlsnake/tasks/): the constraints come from there.
import os

from hlsnake import artifacts
from hlsnake import config as hlsnake_config
from hlsnake import search as hlsnake_search
from hlsnake.designs import (
    NAME_PATTERN,
    dataset_tag,
    hls_stage_regex,
    model_stage_regex,
    parse_design_path,
    segment_regex,
    step_regex,
    synth_stage_regex,
)
from hlsnake import space as hlsnake_space
from hlsnake.fileio import read_json
from hlsnake.results import design_files
from hlsnake.tasks import HLS, MODEL_STEP, TASKS, by_prefix
from hlsnake.tasks.synth import BACKEND as SYNTH_BACKEND


wildcard_constraints:
    dataset=NAME_PATTERN,
    model=NAME_PATTERN,
    parent=model_stage_regex(RESULTS),
    hlsdir=hls_stage_regex(RESULTS),
    design=synth_stage_regex(RESULTS),
    k=r"\d+",
    round=r"\d+",
    study="|".join(hlsnake_search.STUDIES),


# the software of every job (conda env create -f environment.yml documents and installs it)
CONDA_ENV = "../environment.yml"
# directory names of the steps each rule builds, fixed or automatic
FIXED_MODEL_STEP = segment_regex(MODEL_STEP, automatic=False)
AUTO_MODEL_STEP = segment_regex(MODEL_STEP, automatic=True)
FIXED_HLS_STEP = segment_regex(HLS, automatic=False)
AUTO_HLS_STEP = segment_regex(HLS, automatic=True)
REDUCE_STEP, BRANCH_STEP = step_regex("reduce"), step_regex("branch")
MODEL, METRICS = artifacts.MODEL_FILE, artifacts.METRICS_FILE


def task_of(step):
    """The task whose directory ``step`` is."""
    return by_prefix(step.split("_", 1)[0])


def step_sections(step, automatic):
    """The config sections a step's job reads (params: a change elsewhere reruns nothing)."""
    return task_of(step).sections(config, automatic)


def step_resources(automatic):
    """mem_mb and runtime of a step's job, from its task, growing with each attempt."""
    res = lambda w: task_of(w.step).resources
    minutes = (lambda w: res(w).auto_minutes) if automatic else (lambda w: res(w).minutes)
    return {"mem_mb": per_attempt(lambda w: res(w).mem_mb), "runtime": per_attempt(minutes)}


def per_attempt(value):
    """A resource that grows with each attempt (--retries): a job stopped at its memory or
    time limit gets more the next time. ``value``: a number, or a function of the wildcards."""
    return lambda wildcards, attempt: (value(wildcards) if callable(value) else value) * attempt


def data_file(stage_dir):
    """The data split of the data set a stage belongs to."""
    design = parse_design_path(stage_dir)
    return f"{design.results}/{design.dataset}/data/split.npz"


def dataset_settings(dataset):
    """The dataset section as prepare_data reads it; standardising (the default) is not named,
    so that results made before the key existed stay valid."""
    return {k: v for k, v in dataset.items() if not (k == "standardise" and v)}


# the keys of the model section that each kind of network reads
USER_MODEL_KEYS = ("name", "type", "path", "pretrained")


def model_settings(model):
    """The model section as the train job reads it: a user's file and whether to keep its
    weights, or the widths of a network the config builds (a change elsewhere reruns nothing)."""
    if model["type"] == "keras":
        return {k: model[k] for k in USER_MODEL_KEYS}
    return {k: v for k, v in model.items() if k not in ("path", "pretrained")}


def train_inputs(w):
    """The data split, and a user's model file: a new version of it reruns what it starts."""
    inputs = {"data": f"{RESULTS}/{w.dataset}/data/split.npz"}
    if config["model"]["type"] == "keras":
        inputs["model_file"] = config["model"]["path"]
    return inputs


def job_log(stage_pattern):
    """A job's log, beside its outputs."""
    return f"{stage_pattern}/{artifacts.LOG_FILE}"


# -- synthesis --------------------------------------------------------------------------


def synthesis_hls_settings(hls):
    """The hls section as a synthesis job reads it (the evaluator of the accuracy is not its concern)."""
    return {k: v for k, v in hls.items() if k != "evaluate"}


def synth_settings(synth, backend):
    """The synth keys a backend reads: the estimator none; tools their timeout and settings."""
    if backend == "estimate":
        return {"backend": backend}
    return {**{k: v for k, v in synth.items() if k != "requested_backend"}, "backend": backend}


def synth_minutes(wildcards):
    """The estimator takes seconds; a tool may take synth.timeout per run (Yosys: the RTL
    simulation, then the synthesis; vendor HLS: the C synthesis)."""
    return 10 if wildcards.backend == "estimate" else 15 + 2 * int(config["synth"]["timeout"]) // 60


# -- control: reduce and branch (their nodes come from the config, src/hlsnake/flows.py) --


def reduce_node(w):
    return PLAN.reduces[f"{w.parent}/{w.step}"]


def reduce_inputs(w):
    return sorted({f for branch in reduce_node(w).branches for f in design_files(branch)})


def branch_node(w):
    return PLAN.branches[f"{w.design}/{w.step}"]


def branch_iterations(w):
    """Iterations 0, 1, ... while the predicate fires, at most max_iterations actions."""
    node = branch_node(w)
    files = []
    for k in range(node.max_iterations + 1):
        if k and node.iteration(k).path == node.iteration(k - 1).path:
            break  # the action no longer changes the design (e.g. a tolerance rounded to 0)
        path = checkpoints.branch_check.get(design=w.design, step=w.step, k=str(k)).output[0]
        files.append(path)
        if not read_json(path)["fired"]:
            break
    return files


# -- the summary of the config's designs --------------------------------------------------


def summary_files(designs):
    roots = sorted({d.root for d in designs})
    return [f"{root}/{name}" for root in roots for name in ("summary.csv", "summary.html", "summary.png")]


def designs_of(dataset, model):
    return [d for d in DESIGNS if d.root == f"{RESULTS}/{dataset}/{model}"]


def report_inputs(w):
    return sorted({f for design in designs_of(w.dataset, w.model) for f in design_files(design)})


def csim_checks(front_file):
    """The C simulation's checks of the designs a front file lists."""
    return [f"{hls}/{artifacts.CSIM_CHECK_FILE}" for hls in read_json(front_file)["hls"]]


def front_checks(w):
    return csim_checks(checkpoints.front.get(dataset=w.dataset, model=w.model).output[0])


def study_front_checks(w):
    return csim_checks(checkpoints.study_front.get(study=w.study).output[0])


# -- studies: search (TPE), random, grid over config search.space (rules/search.smk) -----

SEARCH = config["search"]
STUDY_ROOT = f"{RESULTS}/{dataset_tag(config)}/{config['model']['name']}"
STUDY_FILES = {
    "trials": "trials.csv",
    "pareto": "pareto.csv",
    "hypervolume": "hypervolume.json",
    "fronts": "fronts.png",
    "progress": "progress.png",
}
# outputs of a study that the report shows, with their captions
STUDY_CAPTIONS = {"progress": "search_progress.rst", "fronts": "search_fronts.rst", "pareto": "search_pareto.rst"}


def study_output(key, path):
    """``path`` marked for the report when ``key`` has a caption, in the category of the designs."""
    if key not in STUDY_CAPTIONS:
        return path
    category = f"{dataset_tag(config)}/{config['model']['name']}"
    return report(path, caption=f"../workflow/report/{STUDY_CAPTIONS[key]}", category=category, subcategory="{study}")


def study_space():
    """The space of a study; an empty one stops the run while Snakemake builds its DAG,
    before any job, with an example (an input function's exception would add a traceback)."""
    try:
        return hlsnake_space.Space.searched(config)
    except hlsnake_space.SpaceError as err:
        hlsnake_config.stop(err)


def study_targets(study):
    return [f"{STUDY_ROOT}/{study}/{name}" for name in STUDY_FILES.values()]


def round_results(study, k):
    return f"{STUDY_ROOT}/{study}/round{k}/results.csv"


def evaluate_inputs(w):
    study_space()
    if w.study == "grid":
        proposals = f"{STUDY_ROOT}/grid/round0/proposals.json"
        paths = [p["design"] for p in hlsnake_search.grid(config)]
    else:
        proposals = checkpoints.study_propose.get(study=w.study, round=w.round).output[0]
        paths = [p["design"] for p in read_json(proposals)["proposals"]]
    return {"proposals": proposals, "designs": sorted({f for p in paths for f in design_files(parse_design_path(p))})}


def study_rounds(w):
    """The grid's round; or a search's rounds until the budget: the finished rounds as
    their proposals say, then the rounds to come at the current batch size. Plain files,
    not checkpoints.get: Snakemake does not rerun a job whose output exists and whose
    input waits for a checkpoint, so a larger budget would add no round."""
    study_space()
    if w.study == "grid":
        return [round_results("grid", 0)]
    files, done = [], 0
    while done < SEARCH["budget"]:
        proposals = f"{STUDY_ROOT}/{w.study}/round{len(files)}/proposals.json"
        if os.path.exists(proposals):
            n = len(read_json(proposals)["proposals"])
        else:
            n = min(SEARCH["batch"], SEARCH["budget"] - done)
        files.append(round_results(w.study, len(files)))
        done += n
        if n == 0:  # every design of the space has been tried
            break
    return files
