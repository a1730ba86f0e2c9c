"""What the config's ``model`` section says about the network, without building it (the
config is checked, and the search space sized, before TensorFlow loads)."""

from __future__ import annotations


def layer_counts(model: dict) -> tuple[int, int]:
    """(layers with weights, hidden activations) of a model spec."""
    hidden = len(model["hidden"])
    convs = len(model["filters"]) if model["type"] == "cnn" else 0
    return convs + hidden + 1, convs + hidden
