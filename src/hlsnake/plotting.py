"""What every plot of hlsnake shares: a headless matplotlib, the decision when a cost
axis goes logarithmic, and the atomic write of the figure."""

from __future__ import annotations

import numpy as np

from .fileio import atomic_path


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


def save(fig, path, dpi: int) -> None:
    plt = pyplot()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
