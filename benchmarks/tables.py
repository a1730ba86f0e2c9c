"""A pandas table as Markdown (for docs/benchmarks.md), without extra packages."""

from __future__ import annotations

import pandas as pd


def markdown(frame: pd.DataFrame, digits: int = 2) -> str:
    def cell(value) -> str:
        if isinstance(value, float):
            return "" if pd.isna(value) else f"{value:.{digits}f}"
        return str(value)

    frame = frame.reset_index() if frame.index.name else frame
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + " --- |" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"
