"""Non-dominated designs over several objectives."""

from __future__ import annotations

import numpy as np


def non_dominated(values: np.ndarray, senses) -> np.ndarray:
    """Boolean mask of the rows that no other row dominates.

    ``values`` is (n_designs, n_objectives); ``senses`` gives "max" or "min" per column.
    A row dominates another when it is at least as good in every objective and better
    in one. Rows with a NaN objective are never on the front.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[1] != len(senses):
        raise ValueError(f"values must be (n, {len(senses)}), got {values.shape}")
    sign = np.array([1.0 if s == "min" else -1.0 for s in senses])  # minimise everything
    costs = values * sign
    valid = ~np.isnan(costs).any(axis=1)
    mask = valid.copy()
    for i in np.flatnonzero(valid):
        others = costs[valid]
        dominated = np.all(others <= costs[i], axis=1) & np.any(others < costs[i], axis=1)
        mask[i] = not dominated.any()
    return mask


def _costs(values, senses, reference) -> tuple[np.ndarray, np.ndarray]:
    """Everything as costs to minimise (a maximised objective is negated)."""
    values = np.asarray(values, dtype=float).reshape(-1, len(senses))
    sign = np.array([1.0 if s == "min" else -1.0 for s in senses])
    return values * sign, np.asarray(reference, dtype=float) * sign


def hypervolume(values, senses, reference) -> float:
    """Exact hypervolume of the region that the rows dominate, bounded by ``reference``.

    ``values`` is (n_designs, n_objectives), ``senses`` "max"/"min" per column, and
    ``reference`` the worst corner of the region (for a maximised objective the lowest
    value that still counts, for a minimised one the highest). Rows that are not
    strictly better than the reference in every objective, or have a NaN, add nothing.
    Recursive slicing along the last objective with a 2-D sweep at the bottom: exact for
    any number of objectives, fast enough for the few objectives and small fronts of a
    design search.
    """
    costs, ref = _costs(values, senses, reference)
    inside = ~np.isnan(costs).any(axis=1) & np.all(costs < ref, axis=1)
    points = costs[inside]
    if len(points) == 0:
        return 0.0
    return float(_volume(points[non_dominated(points, ["min"] * points.shape[1])], ref))


def _volume(points: np.ndarray, ref: np.ndarray) -> float:
    n, d = points.shape
    if d == 1:
        return float(ref[0] - points[:, 0].min())
    if d == 2:
        order = np.argsort(points[:, 0], kind="stable")
        x, y = points[order, 0], np.minimum.accumulate(points[order, 1])
        widths = np.diff(np.append(x, ref[0]))
        return float(np.sum(widths * (ref[1] - y)))
    # slab between consecutive values of the last objective: the points at or below it,
    # projected onto the other objectives
    order = np.argsort(points[:, -1], kind="stable")
    points = points[order]
    bounds = np.append(points[:, -1], ref[-1])
    total = 0.0
    for i in range(n):
        depth = bounds[i + 1] - bounds[i]
        if depth > 0:
            slab = points[: i + 1, :-1]
            total += depth * _volume(slab[non_dominated(slab, ["min"] * (d - 1))], ref[:-1])
    return total
