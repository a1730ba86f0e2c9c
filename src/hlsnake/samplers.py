"""Samplers: what proposes the designs of a study. A study is a sampler plus a space
(:mod:`hlsnake.space`); every sampler answers the same call, :meth:`Sampler.propose`.

* ``tpe``: hyperopt's Tree-structured Parzen Estimator, the search of the design.
* ``random``: uniform random points, in the same rounds (the baseline TPE must beat).
* ``grid``: every design of the space, in order.

TPE and random rebuild hyperopt's history from the finished trials (the point of each
trial and its loss, see :func:`hlsnake.trials.loss`) and ask for a batch one point at a
time: each point already chosen enters the history as a pending trial, which TPE counts as
infinitely bad (a "constant liar"), so a batch spreads out instead of repeating one point.
A proposal whose design was already tried (TPE repeats known points often) is asked again
with a new seed, up to ``retries`` times, then replaced by the untried design nearest to
it, so duplicates do not use up the budget; when every design of the space has been
tried, a round proposes fewer (or none) and the study ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .space import Space

MAX_RANDOM_DRAWS = 2000  # random draws for an untried design when the space is too big to list
LISTABLE = 100_000  # spaces up to this size are listed to find the nearest untried design
COVER_CANDIDATES = 64  # balanced start-up sets drawn; the most spread-out one is kept
COVER_STREAM = 7_000_001  # the start-up set's random stream: default_rng([seed, COVER_STREAM]), apart from the rounds'


@dataclass(frozen=True)
class Finished:
    """A trial of an earlier round, as a sampler sees it."""

    point: dict
    design: str  # its path: two points with one path are one design
    loss: float | None  # None: the design failed (an infinitely bad trial)


@dataclass(frozen=True)
class Sampler:
    """Proposes up to ``n`` new points of ``space`` after the ``finished`` trials:
    ``[{"point", "design", "origin"}]`` (fewer when the space runs out)."""

    name: str
    propose: Callable[..., list[dict]]  # (space, finished, n, *, rng, design_of, settings) -> proposals


def _hyperopt(suggest: Callable, label: str) -> Callable[..., list[dict]]:
    """A sampler over hyperopt's ``suggest`` (``tpe.suggest`` or ``rand.suggest``, same call)."""

    def propose(space: Space, finished: list[Finished], n: int, *, rng, design_of, settings: dict) -> list[dict]:
        from hyperopt import Domain  # hyperopt loads in the controller's job only

        domain = Domain(lambda point: 0.0, space.hyperopt())
        history = _history(space, domain, finished)
        tried = {f.design for f in finished}
        start = covering_start(space, settings["startup"], settings["seed"]) if label == "tpe" and settings.get("start") == "cover" else []
        out = []
        for _ in range(n):
            if len(history.trials) < len(start):  # the study's start-up set, in order
                wanted = start[len(history.trials)]
                choice = (wanted, "cover start") if design_of(wanted) not in tried else None
            else:
                wanted, choice = _suggested(suggest, label, space, domain, history, rng, design_of, tried, settings)
            if choice is None:
                point = untried_near(space, wanted, rng, tried, design_of)
                if point is None:
                    break  # every design of the space has been tried
                choice = (point, f"nearest untried ({label} chose a tried design)")
            point, origin = choice
            path = design_of(point)
            tried.add(path)
            _insert(history, domain, space.vals(point), {"status": "new"}, pending=True)
            out.append({"point": point, "design": path, "origin": origin})
        return out

    return propose


def _suggested(suggest, label, space, domain, history, rng, design_of, tried, settings) -> tuple[dict, tuple | None]:
    """hyperopt's next point, asked again with a new seed while its design was tried
    (``retries`` times): (the last point, (point, origin) or None if every one was tried)."""
    mode = "random start" if label == "tpe" and len(history.trials) < settings["startup"] else label
    for attempt in range(settings["retries"] + 1):
        tid = history.new_trial_ids(1)[0]
        doc = suggest([tid], domain, history, int(rng.integers(2**31 - 1)), **_options(label, settings))[0]
        point = space.point({name: values[0] for name, values in doc["misc"]["vals"].items()})
        if design_of(point) not in tried:
            return point, (point, mode if attempt == 0 else f"{mode}, retry {attempt}")
    return point, None


def covering_start(space: Space, n: int, seed: int) -> list[dict]:
    """``n`` start-up points that cover the space, the same in every round of a study: every
    variable takes each of its values equally often (±1; a Latin hypercube over discrete
    values), and of ``COVER_CANDIDATES`` such sets the one whose two nearest points are
    farthest apart (maximin) is kept, so no two start-up designs are near-duplicates."""
    rng = np.random.default_rng([seed, COVER_STREAM])
    best, spread = [], -1.0
    for _ in range(COVER_CANDIDATES if n > 1 else 1):
        columns = {label: rng.permutation(np.resize(np.arange(levels), n)) for label, levels in space.levels.items()}
        points = [space.point({label: int(column[i]) for label, column in columns.items()}) for i in range(n)]
        nearest = min((space.distance(a, b) for i, a in enumerate(points) for b in points[i + 1 :]), default=0.0)
        if nearest > spread:
            best, spread = points, nearest
    return best


def _options(label: str, settings: dict) -> dict:
    return {"n_startup_jobs": settings["startup"]} if label == "tpe" else {}


def _history(space: Space, domain, finished: list[Finished]):
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


def untried_near(space: Space, point: dict, rng, tried: set, design_of) -> dict | None:
    """The untried design nearest to ``point`` (the sampler's repeated choice), ties broken
    at random: the search keeps going where the sampler wanted to go. None when all were tried."""
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


def _grid(space: Space, finished: list[Finished], n: int | None, *, rng=None, design_of, settings=None) -> list[dict]:
    """Every untried design of the space in the space's order (``n``: at most that many)."""
    tried = {f.design for f in finished}
    out: list[dict] = []
    for point in space.points():
        path = design_of(point)
        if path not in tried:
            tried.add(path)
            out.append({"point": point, "design": path, "origin": "grid"})
            if n is not None and len(out) >= n:
                break
    return out


def _samplers() -> dict[str, Sampler]:
    from hyperopt import rand, tpe

    return {
        "tpe": Sampler("tpe", _hyperopt(tpe.suggest, "tpe")),
        "random": Sampler("random", _hyperopt(rand.suggest, "random")),
        "grid": Sampler("grid", _grid),
    }


def sampler(name: str) -> Sampler:
    samplers = _samplers()
    if name not in samplers:
        raise ValueError(f"unknown sampler {name!r}; known: {', '.join(samplers)}")
    return samplers[name]
