"""The search controller: one batch of proposals per round, from the results of the
earlier rounds, by the study's sampler (:mod:`hlsnake.samplers`): TPE for ``search``,
random points for ``random`` (the baseline), every design at once for ``grid``.

Seeded per round with ``numpy.random.default_rng([seed, round])``: the same config and the
same earlier results give the same proposals. The Snakemake side (rules/search.smk) only
moves files: one checkpoint per round writes ``proposals.json`` with
:func:`propose_round`; the designs are built by the ordinary rules.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from . import space as spaces
from . import trials as trial_table
from .fileio import read_json, write_json
from .samplers import Finished, sampler

# the sampler of each study (a directory of its own under <results>/<dataset>/<model>/)
STUDIES = {"search": "tpe", "random": "random", "grid": "grid"}
ROUNDS_STUDIES = ("search", "random")  # round after round, within search.budget; grid: one round
PROPOSALS_FILE, RESULTS_FILE = "proposals.json", "results.csv"  # of each round: <study>/round<r>/


# -- one round, from files -------------------------------------------------------------


def settings(config: dict) -> dict:
    """What decides the proposals (besides the earlier results): rerun a round when it changes.

    ``budget`` and ``batch`` are left out on purpose: they shape only the rounds still to
    come, so neither a new budget nor another ``--cores`` reruns a finished round.
    """
    search = config["search"]
    chosen = {
        "space": search["space"],
        "score": search["score"],
        "seed": search["seed"] if search["seed"] is not None else config["seed"],
        "startup": search["startup"],
        "retries": search["retries"],
    }
    if search["start"] != "random":  # named only when not the default: studies made before the key stay valid
        chosen["start"] = search["start"]
    return chosen


def propose_round(results_files: list, out_path, round: int, config: dict, log=print) -> dict:
    """Write round ``round``'s proposals, given the results of its earlier rounds. The study
    (its sampler) is the one whose directory ``out_path`` is in: ``<study>/round<r>/proposals.json``.

    The round holds ``min(batch, budget - trials so far)`` proposals, trials numbered on
    from the earlier rounds; ``log`` gets a line per proposal (the rule's log file).
    """
    study = Path(out_path).parent.parent.name
    search, chosen = config["search"], settings(config)
    frame = trial_table.read_results(results_files)
    finished = [
        Finished(json.loads(row["point"]), row["design"], trial_table.loss(row, chosen["score"]))
        for row in frame.to_dict("records")
    ]
    n = max(0, min(int(search["batch"]), int(search["budget"]) - len(finished)))
    space = spaces.Space.searched(config)
    proposals = sampler(STUDIES[study]).propose(
        space,
        finished,
        n,
        rng=np.random.default_rng([chosen["seed"], round]),
        design_of=lambda point: spaces.design(config, point).path,
        settings=chosen,
    )
    for i, proposal in enumerate(proposals):
        proposal["trial"] = len(finished) + i
    record = {"round": round, "requested": n, "space_size": space.size, "proposals": proposals}
    write_json(out_path, record)
    log(f"{study} round {round}: {len(proposals)} proposal(s) of {n} requested, after {len(finished)} trial(s)")
    for proposal in proposals:
        log(f"  trial {proposal['trial']} ({proposal['origin']}): {proposal['design']}")
    return record


def round_progress(results_path, round: int, config: dict) -> str:
    """The one line a finished round prints: the round (counted from 1) out of the rounds the
    budget gives at the current batch size, the trials done, the best score and the
    hypervolume so far. ``results_path``: the round's ``<study>/round<r>/results.csv``; the
    earlier rounds' results are beside it (they decided its proposals, so they exist)."""
    round_dir = Path(results_path).parent
    study_dir = round_dir.parent
    frame = trial_table.read_results([study_dir / f"round{k}" / RESULTS_FILE for k in range(round)] + [results_path])
    search, done = config["search"], len(frame)
    total = round + 1
    if study_dir.name != "grid":
        record = read_json(round_dir / PROPOSALS_FILE)
        if len(record["proposals"]) == record["requested"]:  # fewer: the space has run out
            total += math.ceil(max(0, int(search["budget"]) - done) / int(search["batch"]))
    best, volume = trial_table.best_and_hypervolume(frame, search["score"], search["hypervolume"])
    best_text = "none feasible" if best is None else f"{best:.4f}"
    return f"{study_dir.name} round {round + 1}/{total}: {done} trials done, best score {best_text}, hypervolume {volume:.4f}"


def grid(config: dict) -> list[dict]:
    """Every distinct design of the space, in order, with the first point that gives it."""
    space = spaces.Space.searched(config)
    proposals = sampler("grid").propose(space, [], None, design_of=lambda point: spaces.design(config, point).path)
    return [{**proposal, "trial": i} for i, proposal in enumerate(proposals)]


def grid_proposals(config: dict, out_path) -> dict:
    """Every distinct design of the space as one round (the grid-search baseline)."""
    space = spaces.Space.searched(config)
    proposals = grid(config)
    record = {"round": 0, "requested": len(proposals), "space_size": space.size, "proposals": proposals}
    write_json(out_path, record)
    return record
