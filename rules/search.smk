# Bayesian design-space search (`snakemake search`) and its grid baseline (`snakemake grid`)
# over config search.space. Every trial is an ordinary design path, built by the ordinary
# rules (in parallel, cached, shared with every other target).
#
#   search/round{r}/proposals.json   checkpoint: TPE's batch for round r, from rounds < r
#   search/round{r}/results.csv      the round's designs, built, measured (or failed)
#   search/trials.csv, pareto.csv, hypervolume.json, fronts.png, progress.png
#   grid/round0/...                  the same for every design of the space, in one round
#
# The logic lives in src/hlsnake/search.py (controller), space.py (space -> designs) and
# trials.py (scores, front, hypervolume, plots).
import os

from snakemake.exceptions import WorkflowError

from hlsnake import search as hlsnake_search
from hlsnake import space as hlsnake_space
from hlsnake.designs import dataset_tag, parse_design_path
from hlsnake.fileio import read_json
from hlsnake.report import design_files

SEARCH = config["search"]
SEARCH_ROOT = f"{RESULTS}/{dataset_tag(config)}/{config['model']['name']}"
SEARCH_FILES = {
    "trials": "trials.csv",
    "pareto": "pareto.csv",
    "hypervolume": "hypervolume.json",
    "fronts": "fronts.png",
    "progress": "progress.png",
}


def _cores():
    try:
        return workflow.cores
    except WorkflowError:  # no --cores (e.g. a cluster run with --jobs)
        return 1


# The batch follows --cores unless set. The controller reads batch and budget from the
# config, not from params: they shape only the rounds still to come, so neither another
# --cores nor a larger budget reruns a finished round.
SEARCH["batch"] = SEARCH["batch"] or _cores()


wildcard_constraints:
    round=r"\d+",
    study="search|grid",


localrules:
    search,
    grid,
    search_propose,
    grid_propose,
    evaluate,
    study_summary,


def _results(study, k):
    return f"{SEARCH_ROOT}/{study}/round{k}/results.csv"


checkpoint search_propose:
    """TPE's batch for a round, from the results of every earlier round."""
    input:
        lambda w: [_results("search", k) for k in range(int(w.round))],
    output:
        f"{SEARCH_ROOT}/search/round{{round}}/proposals.json",
    params:
        # rerun triggers only: what decides the proposals, and what decides the design paths
        controller=hlsnake_search.settings(config),
        designs=lambda w: hlsnake_space.design(config, {}).path,
    script:
        "../scripts/search_propose.py"


rule grid_propose:
    """Every design of the space, as one round."""
    output:
        f"{SEARCH_ROOT}/grid/round0/proposals.json",
    params:
        space=SEARCH["space"],
        designs=lambda w: hlsnake_space.design(config, {}).path,
    script:
        "../scripts/search_propose.py"


def _evaluate_inputs(w):
    if w.study == "search":
        proposals = checkpoints.search_propose.get(round=w.round).output[0]
        designs = [parse_design_path(p["design"]) for p in read_json(proposals)["proposals"]]
    else:
        proposals = f"{SEARCH_ROOT}/grid/round0/proposals.json"
        designs = [d for _, d in hlsnake_space.grid(config, hlsnake_space.Space.from_config(config))]
    return {"proposals": proposals, "designs": sorted({f for d in designs for f in design_files(d)})}


rule evaluate:
    """The measurements of a round's designs (a failed design gives its failure record)."""
    input:
        unpack(_evaluate_inputs),
    output:
        f"{SEARCH_ROOT}/{{study}}/round{{round}}/results.csv",
    script:
        "../scripts/search_evaluate.py"


def _rounds(w):
    """The grid's round; or the search's rounds until the budget: the finished rounds as
    their proposals say, then the rounds to come at the current batch size. Plain files,
    not checkpoints.get: Snakemake does not rerun a job whose output exists and whose
    input waits for a checkpoint, so a larger budget would add no round."""
    if w.study == "grid":
        return [_results("grid", 0)]
    files, done = [], 0
    while done < SEARCH["budget"]:
        proposals = f"{SEARCH_ROOT}/search/round{len(files)}/proposals.json"
        if os.path.exists(proposals):
            n = len(read_json(proposals)["proposals"])
        else:
            n = min(SEARCH["batch"], SEARCH["budget"] - done)
        files.append(_results("search", len(files)))
        done += n
        if n == 0:  # every design of the space has been tried
            break
    return files


rule study_summary:
    """All trials, the Pareto-optimal ones, the hypervolume (reference point stated), plots."""
    input:
        _rounds,
    output:
        **{key: study_output(key, f"{SEARCH_ROOT}/{{study}}/{name}") for key, name in SEARCH_FILES.items()},
    params:
        score=SEARCH["score"],
        hypervolume=SEARCH["hypervolume"],
        budget=lambda w: SEARCH["budget"] if w.study == "search" else None,
    script:
        "../scripts/search_summary.py"


rule search:
    """Target: snakemake --cores all search  (or --config search.budget=60)."""
    input:
        [f"{SEARCH_ROOT}/search/{name}" for name in SEARCH_FILES.values()],


rule grid:
    """Target: every design of search.space (the baseline of the search)."""
    input:
        [f"{SEARCH_ROOT}/grid/{name}" for name in SEARCH_FILES.values()],
