"""What every plot of hlsnake shares: a headless matplotlib, the decision when a cost
axis goes logarithmic, the error bars of estimated costs, and the atomic write of the figure."""

from __future__ import annotations

import numpy as np

from .fileio import atomic_path
from .vocabulary import ERROR_SUFFIX


def pyplot():
    """matplotlib.pyplot on the Agg backend (jobs have no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def symlog_if_wide(ax, values) -> None:
    """A symmetric-log x axis when the costs span more than 20x (a float baseline beside
    quantised designs would squeeze the others into one corner)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    positive = values[values > 0]
    if len(values) and values.max() > 20 * max(1.0, positive.min() if len(positive) else 1.0):
        ax.set_xscale("symlog", linthresh=1)


def error_bars(ax, frame, cost: str, y: str = "accuracy") -> None:
    """Horizontal bars of ± the validated median error of each estimated cost (its
    ``<cost>_err_pct`` column); measured costs (no error, NaN) get none."""
    column = cost + ERROR_SUFFIX
    if column not in frame:  # a table written before the errors were recorded
        return
    pct = frame[column].to_numpy(float)
    shown = np.isfinite(pct)
    if not shown.any():
        return
    x, y_values = frame[cost].to_numpy(float)[shown], frame[y].to_numpy(float)[shown]
    style = {"fmt": "none", "ecolor": "0.45", "elinewidth": 0.8, "capsize": 2, "zorder": 1}
    ax.errorbar(x, y_values, xerr=np.abs(x) * pct[shown] / 100, label="estimate ± median error", **style)


def save(fig, path, dpi: int) -> None:
    plt = pyplot()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
