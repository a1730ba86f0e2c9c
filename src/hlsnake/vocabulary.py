"""The names of what a design measures, and which way each objective goes: the one list
that the summary, the search, the decisions (reduce, branch) and the expressions of a
config all read."""

from __future__ import annotations

# from the synthesis backend (resources.json), in the order the tables show them
HARDWARE = ("DSP", "LUT", "FF", "BRAM_18K", "latency_cycles", "latency_ns", "interval")
# the numbers whose validated median error an estimate carries (resources.json "error_pct"),
# and the column of each error: empty for measured numbers (vendor reports, Yosys carry none)
ESTIMATE_ERRORS = ("DSP", "LUT", "FF", "BRAM_18K", "latency_cycles", "interval")
ERROR_SUFFIX = "_err_pct"
ERROR_COLUMNS = tuple(name + ERROR_SUFFIX for name in ESTIMATE_ERRORS)
# the bit-accurate accuracy of the hls design on the test split, the Keras model's, and the
# validation accuracy that every decision uses
ACCURACIES = ("accuracy", "keras_accuracy", "val_accuracy")
MEASURED = (*ACCURACIES, *HARDWARE)
# what reduce objectives and branch predicates may name (accuracy: the validation split's)
EXPRESSION_NAMES = ("accuracy", "keras_accuracy", *HARDWARE)

SENSES = {"accuracy": "max", **{name: "min" for name in HARDWARE}}
# the objectives of a search (its Pareto front) and the resources its score may weigh
SEARCH_OBJECTIVES = ("accuracy", "DSP", "LUT", "FF", "latency_cycles")
SCORED_RESOURCES = ("DSP", "LUT", "FF", "latency_cycles")
# the front of a summary, and the costs a study plots accuracy against
SUMMARY_FRONT = ("accuracy", "DSP", "LUT")
FRONT_PLOTS = ("DSP", "LUT", "latency_cycles")
# what a branch iteration records of its design
BRANCH_RECORD = ("val_accuracy", "accuracy", "DSP", "LUT", "FF", "latency_cycles")


def senses(names) -> list[str]:
    """``max`` or ``min`` for each name."""
    return [SENSES[name] for name in names]
