"""The Bayesian search controller: hyperopt's TPE, one batch of proposals per round.

A round reads every finished trial of the earlier rounds, rebuilds hyperopt's history
from them (the point of each trial and its loss, see :func:`trials.loss`), and asks TPE
for a batch, one point at a time: each point already chosen enters the history as a
pending trial, which TPE counts as infinitely bad (a "constant liar"), so the batch
spreads out instead of repeating one point. Seeded per round with
``numpy.random.default_rng([seed, round])``: the same config and the same earlier
results give the same proposals.

A proposal whose design was already tried (TPE repeats known points often) is asked
again with a new seed, up to ``retries`` times, then replaced by the untried design
nearest to it, so duplicates do not use up the budget; when every design of the space has
been tried, the round proposes fewer (or none) and the search ends.

The Snakemake side (rules/search.smk) only moves files: one checkpoint per round writes
``proposals.json`` with :func:`propose_round`; the designs are built by the ordinary rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import space as spaces
from . import trials as trial_table
from .fileio import write_json

MAX_RANDOM_DRAWS = 2000  # random draws for an untried design when the space is too big to list
LISTABLE = 100_000  # spaces up to this size are listed to find the nearest untried design


@dataclass(frozen=True)
class Finished:
    """A trial of an earlier round, as the controller sees it."""

    point: dict
    design: str  # its path: two points with one path are one design
    loss: float | None  # None: the design failed (TPE sees an infinitely bad trial)


def propose(
    space: spaces.Space,
    finished: list[Finished],
    n: int,
    *,
    seed: int,
    round: int,
    startup: int,
    retries: int,
    design_of: Callable[[dict], str],
) -> list[dict]:
    """Up to ``n`` new points: ``[{"point", "design", "origin"}]`` (fewer when the space runs out)."""
    from hyperopt import Domain, tpe

    if not space.knobs:  # nothing to search (hyperopt cannot hold an empty space): the config's one design
        path = design_of({})
        return [{"point": {}, "design": path, "origin": "the only design"}] if n and path not in {f.design for f in finished} else []
    domain = Domain(lambda point: 0.0, space.hyperopt())
    history = _history(space, domain, finished)
    rng = np.random.default_rng([seed, round])
    tried = {f.design for f in finished}
    out = []
    for _ in range(n):
        choice = None
        for attempt in range(retries + 1):
            tid = history.new_trial_ids(1)[0]
            mode = "random start" if len(history.trials) < startup else "tpe"
            doc = tpe.suggest([tid], domain, history, int(rng.integers(2**31 - 1)), n_startup_jobs=startup)[0]
            point = space.point({label: values[0] for label, values in doc["misc"]["vals"].items()})
            path = design_of(point)
            if path not in tried:
                choice = (point, path, mode if attempt == 0 else f"{mode}, retry {attempt}")
                break
        if choice is None:
            point = untried_near(space, point, rng, tried, design_of)
            if point is None:
                break  # every design of the space has been tried
            choice = (point, design_of(point), "nearest untried (TPE repeated tried designs)")
        point, path, origin = choice
        tried.add(path)
        _insert(history, domain, space.vals(point), {"status": "new"}, pending=True)
        out.append({"point": point, "design": path, "origin": origin})
    return out


def _history(space: spaces.Space, domain, finished: list[Finished]):
    from hyperopt import Trials

    history = Trials()
    for trial in finished:
        result = {"status": "fail"} if trial.loss is None else {"status": "ok", "loss": float(trial.loss)}
        _insert(history, domain, space.vals(trial.point), result, pending=False)
    return history


def _insert(history, domain, vals: dict, result: dict, pending: bool) -> None:
    from hyperopt.base import JOB_STATE_DONE

    tid = history.new_trial_ids(1)[0]
    misc = {"tid": tid, "cmd": domain.cmd, "workdir": domain.workdir, "idxs": {k: [tid] for k in vals}, "vals": {k: [v] for k, v in vals.items()}}
    doc = history.new_trial_docs([tid], [None], [result], [misc])[0]
    if not pending:
        doc["state"] = JOB_STATE_DONE
    history.insert_trial_docs([doc])
    history.refresh()


def untried_near(space: spaces.Space, point: dict, rng, tried: set, design_of) -> dict | None:
    """The untried design nearest to ``point`` (TPE's repeated choice), ties broken at
    random: the search keeps going where TPE wanted to go. None when all were tried."""
    if space.size > LISTABLE:  # too many to list: a random draw is almost surely untried
        for _ in range(MAX_RANDOM_DRAWS):
            candidate = space.random_point(rng)
            if design_of(candidate) not in tried:
                return candidate
        return None
    fresh: dict[str, dict] = {}
    for candidate in space.points():
        path = design_of(candidate)
        if path not in tried:
            fresh.setdefault(path, candidate)
    if not fresh:
        return None
    candidates = list(fresh.values())
    distances = np.array([space.distance(point, c) for c in candidates])
    nearest = np.flatnonzero(distances == distances.min())
    return candidates[nearest[rng.integers(len(nearest))]]


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
    """Write round ``round``'s proposals, given the results of every earlier round.

    The round holds ``min(batch, budget - trials so far)`` proposals, trials numbered on
    from the earlier rounds.
    """
    search, chosen = config["search"], settings(config)
    frame = trial_table.read_results(results_files)
    finished = [
        Finished(json.loads(row["point"]), row["design"], trial_table.loss(row, chosen["score"]))
        for row in frame.to_dict("records")
    ]
    n = max(0, min(int(search["batch"]), int(search["budget"]) - len(finished)))
    space = spaces.Space.from_config(config)
    proposals = propose(
        space,
        finished,
        n,
        seed=chosen["seed"],
        round=round,
        startup=chosen["startup"],
        retries=chosen["retries"],
        design_of=lambda point: spaces.design(config, point).path,
    )
    for i, proposal in enumerate(proposals):
        proposal["trial"] = len(finished) + i
    record = {"round": round, "requested": n, "space_size": space.size, "proposals": proposals}
    write_json(out_path, record)
    print(f"search round {round}: {len(proposals)} proposal(s) of {n} requested, after {len(finished)} trial(s)", flush=True)
    for proposal in proposals:
        print(f"  trial {proposal['trial']} ({proposal['origin']}): {proposal['design']}", flush=True)
    return record


def grid_proposals(config: dict, out_path) -> dict:
    """Every distinct design of the space as one round (the grid-search baseline)."""
    space = spaces.Space.from_config(config)
    proposals = [
        {"trial": i, "point": point, "design": d.path, "origin": "grid"}
        for i, (point, d) in enumerate(spaces.grid(config, space))
    ]
    record = {"round": 0, "requested": len(proposals), "space_size": space.size, "proposals": proposals}
    write_json(out_path, record)
    return record
