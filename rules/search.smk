# Design-space studies over config search.space: `snakemake search` (hyperopt TPE, round
# after round), `snakemake random` (random points in the same rounds: the baseline TPE
# must beat) and `snakemake grid` (every design at once). Every trial is an ordinary
# design path, built by the ordinary rules (in parallel, cached, shared with every target).
#
#   <study>/round{r}/proposals.json   checkpoint: round r's batch, from the rounds < r
#   <study>/round{r}/results.csv      the round's designs, built, measured (or failed)
#   <study>/trials.csv, pareto.csv, hypervolume.json, fronts.png, progress.png
#
# The logic lives in src/hlsnake/search.py (controller), samplers.py, space.py (space ->
# designs) and trials.py (scores, front, hypervolume, plots).


localrules:
    search,
    random,
    grid,
    study_propose,
    grid_propose,
    study_front,
    evaluate,
    study_summary,


checkpoint study_propose:
    """A round's batch of a search or random study, from the results of its earlier rounds."""
    input:
        lambda w: [round_results(w.study, k) for k in range(int(w.round))],
    output:
        f"{STUDY_ROOT}/{{study}}/round{{round}}/proposals.json",
    log:
        f"{STUDY_ROOT}/{{study}}/round{{round}}/propose.log",
    wildcard_constraints:
        study="|".join(hlsnake_search.ROUNDS_STUDIES),
    conda:
        CONDA_ENV
    params:
        # rerun triggers only: what decides the proposals, and what decides the design paths
        controller=hlsnake_search.settings(config),
        designs=lambda w: hlsnake_space.design(config, {}).path,
    script:
        "../scripts/search_propose.py"


rule grid_propose:
    """Every design of the space, as one round."""
    output:
        f"{STUDY_ROOT}/grid/round0/proposals.json",
    log:
        f"{STUDY_ROOT}/grid/round0/propose.log",
    conda:
        CONDA_ENV
    params:
        space=SEARCH["space"],
        designs=lambda w: hlsnake_space.design(config, {}).path,
    script:
        "../scripts/search_propose.py"


rule evaluate:
    """The measurements of a round's designs (a failed design gives its failure record)."""
    input:
        unpack(evaluate_inputs),
    output:
        f"{STUDY_ROOT}/{{study}}/round{{round}}/results.csv",
    log:
        f"{STUDY_ROOT}/{{study}}/round{{round}}/evaluate.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/search_evaluate.py"


checkpoint study_front:
    """The designs on the front of a study whose accuracy the emulator computed."""
    input:
        study_rounds,
    output:
        f"{STUDY_ROOT}/{{study}}/{artifacts.FRONT_FILE}",
    log:
        f"{STUDY_ROOT}/{{study}}/front.log",
    conda:
        CONDA_ENV
    params:
        score=SEARCH["score"],
        budget=lambda w: SEARCH["budget"] if w.study != "grid" else None,
    script:
        "../scripts/front.py"


rule study_summary:
    """All trials, the Pareto-optimal ones, the hypervolume (reference point stated), plots."""
    input:
        rounds=study_rounds,
        checks=study_front_checks,
    output:
        **{key: study_output(key, f"{STUDY_ROOT}/{{study}}/{name}") for key, name in STUDY_FILES.items()},
    log:
        f"{STUDY_ROOT}/{{study}}/summary.log",
    conda:
        CONDA_ENV
    params:
        score=SEARCH["score"],
        hypervolume=SEARCH["hypervolume"],
        budget=lambda w: SEARCH["budget"] if w.study != "grid" else None,
    script:
        "../scripts/search_summary.py"


rule search:
    """Target: snakemake --cores all search  (or --config 'search={budget: 60}')."""
    input:
        study_targets("search"),


rule random:
    """Target: random search over the same space, in the same rounds (the baseline of TPE)."""
    input:
        study_targets("random"),


rule grid:
    """Target: every design of search.space (the baseline of the search)."""
    input:
        study_targets("grid"),
