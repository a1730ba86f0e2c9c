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
from pathlib import Path

import numpy as np

from . import space as spaces
from . import trials as trial_table
from .fileio import write_json
from .samplers import Finished, sampler

# the sampler of each study (a directory of its own under <results>/<dataset>/<model>/)
STUDIES = {"search": "tpe", "random": "random", "grid": "grid"}
ROUNDS_STUDIES = ("search", "random")  # round after round, within search.budget; grid: one round


# -- one round, from files -------------------------------------------------------------


def settings(config: dict) -> dict:
    """What decides the proposals (besides the earlier results): rerun a round when it changes.

    ``budget`` and ``batch`` are left out on purpose: they shape only the rounds still to
    come, so neither a new budget nor another ``--cores`` reruns a finished round.
    """
    search = config["search"]
    return {
        "space": search["space"],
        "score": search["score"],
        "seed": search["seed"] if search["seed"] is not None else config["seed"],
        "startup": search["startup"],
        "retries": search["retries"],
    }


def propose_round(results_files: list, out_path, round: int, config: dict) -> dict:
    """Write round ``round``'s proposals, given the results of its earlier rounds. The study
    (its sampler) is the one whose directory ``out_path`` is in: ``<study>/round<r>/proposals.json``.

    The round holds ``min(batch, budget - trials so far)`` proposals, trials numbered on
    from the earlier rounds.
    """
    study = Path(out_path).parent.parent.name
    search, chosen = config["search"], settings(config)
    frame = trial_table.read_results(results_files)
    finished = [
        Finished(json.loads(row["point"]), row["design"], trial_table.loss(row, chosen["score"]))
        for row in frame.to_dict("records")
    ]
    n = max(0, min(int(search["batch"]), int(search["budget"]) - len(finished)))
    space = spaces.Space.from_config(config)
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
    print(f"{study} round {round}: {len(proposals)} proposal(s) of {n} requested, after {len(finished)} trial(s)", flush=True)
    for proposal in proposals:
        print(f"  trial {proposal['trial']} ({proposal['origin']}): {proposal['design']}", flush=True)
    return record


def grid(config: dict) -> list[dict]:
    """Every distinct design of the space, in order, with the first point that gives it."""
    space = spaces.Space.from_config(config)
    proposals = sampler("grid").propose(space, [], None, design_of=lambda point: spaces.design(config, point).path)
    return [{**proposal, "trial": i} for i, proposal in enumerate(proposals)]


def grid_proposals(config: dict, out_path) -> dict:
    """Every distinct design of the space as one round (the grid-search baseline)."""
    space = spaces.Space.from_config(config)
    proposals = grid(config)
    record = {"round": 0, "requested": len(proposals), "space_size": space.size, "proposals": proposals}
    write_json(out_path, record)
    return record
