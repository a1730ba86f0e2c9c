"""The record an automatic task keeps of every candidate it tried, and the bisection
that automatic tasks run over an integer knob (bit widths)."""

from __future__ import annotations

import time

import pandas as pd

from .failures import is_design_failure
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

    def add(self, knobs: dict, accuracy: float) -> bool:
        """Record a measured candidate; True when it is within the tolerance."""
        accepted = self.accepts(accuracy)
        reason = "" if accepted else "accuracy drop exceeds the tolerance"
        row = self._append(knobs, float(accuracy), self.drop(accuracy), accepted, reason)
        kind = "relative" if self.relative else "absolute"
        self.log(
            f"  {self.task} candidate {row['candidate']}: {_text(knobs)}: accuracy {accuracy:.4f}, "
            f"{kind} drop {row['drop']:+.4f} (tolerance {self.tolerance}) -> {'accepted' if accepted else 'rejected'}"
        )
        return accepted

    def add_failure(self, knobs: dict, reason) -> bool:
        """A candidate that could not be built: rejected, with ``reason`` (an exception or
        text) and no accuracy. Returns False (rejected) like :meth:`add`."""
        if isinstance(reason, BaseException):
            reason = f"{type(reason).__name__}: {reason}".strip()
        row = self._append(knobs, float("nan"), float("nan"), False, str(reason))
        self.log(f"  {self.task} candidate {row['candidate']}: {_text(knobs)}: failed ({row['reason']}) -> rejected")
        return False

    def evaluate(self, knobs: dict, work):
        """Run ``work()`` -> (accuracy, result) for one candidate and record it. A design
        failure (see failures.py) is a rejected candidate with its reason; a bug raises.
        Returns (accepted, result), result None when the candidate failed."""
        try:
            accuracy, result = work()
        except Exception as exc:
            if not is_design_failure(exc):
                raise
            return self.add_failure(knobs, exc), None
        return self.add(knobs, accuracy), result

    def _append(self, knobs: dict, accuracy: float, drop: float, accepted: bool, reason: str) -> dict:
        row = {
            "candidate": len(self.rows) + 1,
            **knobs,
            "accuracy": accuracy,
            "drop": drop,
            "tolerance": self.tolerance,
            "accepted": accepted,
            "reason": reason,
            "seconds": round(time.time() - self._start, 2),
        }
        self.rows.append(row)
        self._start = time.time()
        return row

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def write(self, path) -> None:
        write_csv(path, self.frame())


def _text(knobs: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in knobs.items())


def lowest_accepted(low: int, high: int, accepts) -> int:
    """The smallest value in [low, high] that ``accepts`` (a candidate evaluation), by
    bisection; ``high`` is known to be accepted, and acceptance is taken as monotone."""
    while low < high:
        mid = (low + high) // 2
        if accepts(mid):
            high = mid
        else:
            low = mid + 1
    return high
