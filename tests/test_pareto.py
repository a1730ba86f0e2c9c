"""Pareto filtering and the exact hypervolume, against hand-computed cases."""

import itertools

import numpy as np
import pytest

from hlsnake.pareto import hypervolume, non_dominated


def test_non_dominated_hand_case():
    # accuracy (max), DSP (min)
    values = [[0.95, 100], [0.90, 50], [0.90, 60], [0.97, 100], [0.80, 50]]
    assert non_dominated(values, ["max", "min"]).tolist() == [False, True, False, True, False]


def test_equal_rows_do_not_dominate_each_other_and_nan_is_never_on_the_front():
    values = [[1.0, 2.0], [1.0, 2.0], [np.nan, 0.0], [1.5, 3.0]]
    assert non_dominated(values, ["min", "min"]).tolist() == [True, True, False, False]


def test_hypervolume_2d_staircase():
    # union of [1,4]x[3,4], [2,4]x[2,4], [3,4]x[1,4]: 1*1 + 1*2 + 1*3
    assert hypervolume([[1, 3], [2, 2], [3, 1]], ["min", "min"], [4, 4]) == pytest.approx(6.0)


def test_hypervolume_with_a_maximised_objective():
    # accuracy up from the floor 0.5, DSP down from 20: 0.4*10 + 0.3*15 - overlap 0.3*10
    assert hypervolume([[0.9, 10], [0.8, 5]], ["max", "min"], [0.5, 20]) == pytest.approx(5.5)


def test_hypervolume_3d_hand_cases():
    assert hypervolume([[1, 1, 1]], ["min"] * 3, [2, 3, 4]) == pytest.approx(6.0)
    # boxes of volume 4 and 2 that overlap in a unit cube
    assert hypervolume([[0, 0, 1], [1, 1, 0]], ["min"] * 3, [2, 2, 2]) == pytest.approx(5.0)
    # a dominated point adds nothing
    assert hypervolume([[0, 0, 1], [1, 1, 0], [1, 1, 1]], ["min"] * 3, [2, 2, 2]) == pytest.approx(5.0)


def test_points_outside_the_reference_box_add_nothing():
    assert hypervolume([[5, 0], [np.nan, 1]], ["min", "min"], [4, 4]) == 0.0
    assert hypervolume([[4, 0]], ["min", "min"], [4, 4]) == 0.0  # on the boundary: zero width
    assert hypervolume(np.empty((0, 3)), ["min"] * 3, [1, 1, 1]) == 0.0


def _inclusion_exclusion(points, ref):
    """Volume of a union of boxes [p, ref] by inclusion-exclusion (exact, exponential)."""
    total = 0.0
    for k in range(1, len(points) + 1):
        for subset in itertools.combinations(points, k):
            corner = np.max(subset, axis=0)
            total += (-1) ** (k + 1) * np.prod(np.clip(ref - corner, 0, None))
    return total


@pytest.mark.parametrize("dims", [2, 3, 4])
def test_hypervolume_matches_inclusion_exclusion_on_random_sets(dims):
    rng = np.random.default_rng(dims)
    for _ in range(20):
        points = rng.integers(0, 6, size=(rng.integers(1, 8), dims)).astype(float)
        ref = np.full(dims, 6.0)
        assert hypervolume(points, ["min"] * dims, ref) == pytest.approx(_inclusion_exclusion(points, ref))
