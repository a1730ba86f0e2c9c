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
