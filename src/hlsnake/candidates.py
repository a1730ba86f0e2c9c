"""The record an automatic task keeps of every candidate it tried."""

from __future__ import annotations

import time

import pandas as pd

from .fileio import write_csv


class CandidateLog:
    """Rows of (candidate knobs, accuracy, drop, accepted, reason, seconds); written as CSV.

    ``accuracy`` is measured on the split the task decides on (the validation split), so
    that the test split stays untouched until the final report. A candidate that could not
    be built (a design failure: training diverged, hls4ml could not compile it) is a
    rejected row without accuracy, its ``reason`` the error (:meth:`add_failure`).

    ``within_tolerance`` is False when the task had to keep a model that misses its
    tolerance (automatic quantisation when even its widest candidate is rejected).
    """

    def __init__(self, task: str, baseline_accuracy: float, tolerance: float, relative: bool, log=print):
        self.task = task
        self.baseline = float(baseline_accuracy)
        self.tolerance = float(tolerance)
        self.relative = relative
        self.rows: list[dict] = []
        self.log = log
        self.within_tolerance = True
        self._start = time.time()

    def drop(self, accuracy: float) -> float:
        loss = self.baseline - accuracy
        return loss / self.baseline if self.relative else loss

    def accepts(self, accuracy: float) -> bool:
        return self.drop(accuracy) <= self.tolerance + 1e-12

    def add(self, knobs: dict, accuracy: float, **extra) -> bool:
        accepted = self.accepts(accuracy)
        row = {
            "candidate": len(self.rows) + 1,
            **knobs,
            "accuracy": float(accuracy),
            "drop": self.drop(accuracy),
            "tolerance": self.tolerance,
            "accepted": accepted,
            "reason": "" if accepted else "accuracy drop exceeds the tolerance",
            **extra,
            "seconds": round(time.time() - self._start, 2),
        }
        self.rows.append(row)
        knob_text = ", ".join(f"{k}={v}" for k, v in knobs.items())
        kind = "relative" if self.relative else "absolute"
        self.log(
            f"  {self.task} candidate {row['candidate']}: {knob_text}: accuracy {accuracy:.4f}, "
            f"{kind} drop {row['drop']:+.4f} (tolerance {self.tolerance}) -> {'accepted' if accepted else 'rejected'}"
        )
        self._start = time.time()
        return accepted

    def add_failure(self, knobs: dict, reason, **extra) -> bool:
        """A candidate that could not be built: rejected, with ``reason`` (an exception or
        text) and no accuracy. Returns False (rejected) like :meth:`add`."""
        if isinstance(reason, BaseException):
            reason = f"{type(reason).__name__}: {reason}".strip()
        row = {
            "candidate": len(self.rows) + 1,
            **knobs,
            "accuracy": float("nan"),
            "drop": float("nan"),
            "tolerance": self.tolerance,
            "accepted": False,
            "reason": str(reason),
            **extra,
            "seconds": round(time.time() - self._start, 2),
        }
        self.rows.append(row)
        knob_text = ", ".join(f"{k}={v}" for k, v in knobs.items())
        self.log(f"  {self.task} candidate {row['candidate']}: {knob_text}: failed ({row['reason']}) -> rejected")
        self._start = time.time()
        return False

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def write(self, path) -> None:
        write_csv(path, self.frame())
