"""The design space of a search (config ``search.space``) and how a point becomes a design.

Every knob is discrete: a range ``{low, high, step}`` (ordered: TPE models its index as a
number) or a list of ``choices`` (categories). A bit width may be ``per_layer``: one
value per layer, each searched on its own. A knob that is absent keeps the config's
value (no pruning, no quantisation, the ``hls`` defaults). Hyperopt sees one variable per
value (per layer for a per-layer knob) holding the index of the chosen value, so a point
is read back from hyperopt and written into its history without float round-off.

:func:`point_flow` is the one place that turns a point into a design flow.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from .designs import Design, design_of, flow_steps
from .modelspec import layer_counts
from .tasks import MODEL_STEP, TASKS, KnobKind, of_stage


class SpaceError(ValueError):
    """An invalid search space; the message names the config key."""


# shown when a study has nothing to search (a user's config without search.space)
EMPTY_SPACE = """search.space is empty: a study (snakemake search, random or grid) has nothing to search.
Give it the knobs to search, each a range or a list of choices, for example:

search:
  space:
    sparsity: {choices: [0.0, 0.5, 0.75]}
    weight_bits: {low: 4, high: 8}
    reuse_factor: {choices: [1, 4]}

Every knob: workflow/schemas/config.schema.yaml (search.space); a whole study: config/search_space.yaml."""


def _knob_kinds() -> dict[str, KnobKind]:
    """The knobs a space may have: each task's own knobs (its registry entry), the
    tolerance of each automatic model task, and the order of the model tasks (e.g.
    ``"quantize>prune"``). Their schema: workflow/schemas/config.schema.yaml, search.space."""
    kinds = {kind.name: kind for task in TASKS.values() for kind in task.knobs}
    for task in of_stage(MODEL_STEP):
        if task.automatic:
            kinds[f"{task.name}_tolerance"] = KnobKind(f"{task.name}_tolerance", float, decimals=4)
    kinds["order"] = KnobKind("order", str)
    return kinds


KNOBS = _knob_kinds()
MODEL_TASK_ORDER = tuple(task.name for task in of_stage(MODEL_STEP))  # when the space has no order knob


def point_flow(point: dict) -> list[dict]:
    """The design flow of a point: its model tasks in the point's order (``order`` knob,
    else scale -> prune -> quantize), each automatic when its tolerance is a knob, fixed
    when its own knob is (each task says which values leave it out: sparsity 0, width
    factor 1, null bits), then hls with the point's hls knobs."""
    order = point["order"].split(">") if point.get("order") else MODEL_TASK_ORDER
    flow = []
    for name in order:
        tolerance = point.get(f"{name}_tolerance")
        knobs = {"tolerance": tolerance} if tolerance is not None else TASKS[name].from_point(point)
        if knobs is not None:
            flow.append({name: knobs})
    flow.append({"hls": TASKS["hls"].from_point(point)})
    return flow


@dataclass(frozen=True)
class Knob:
    name: str
    values: tuple  # the values one variable can take, in order
    ordered: bool  # from a range (ordered) or from choices (categorical)
    layers: int = 0  # > 0: one variable per layer, named name[0], name[1], ...

    @property
    def labels(self) -> list[str]:
        return [f"{self.name}[{i}]" for i in range(self.layers)] if self.layers else [self.name]

    def value(self, indices: list[int]):
        values = [self.values[i] for i in indices]
        return values if self.layers else values[0]

    def indices(self, value) -> list[int]:
        values = value if self.layers else [value]
        try:
            return [self.values.index(v) for v in values]
        except ValueError:
            raise SpaceError(f"search.space.{self.name}: {value!r} is not in the space") from None


@dataclass(frozen=True)
class Space:
    knobs: tuple[Knob, ...]

    @classmethod
    def from_config(cls, config: dict) -> "Space":
        return cls.from_spec(config["search"]["space"], config["model"], "search.space")

    @classmethod
    def searched(cls, config: dict) -> "Space":
        """The space of a study: like :meth:`from_config`, but an empty one is an error."""
        space = cls.from_config(config)
        if not space.knobs:
            raise SpaceError(EMPTY_SPACE)
        return space

    @classmethod
    def from_spec(cls, spec: dict, model: dict, key: str) -> "Space":
        """The space of ``spec`` (knob -> range or choices) for the network of ``model``;
        ``key`` is the config key of ``spec``, for messages."""
        counts = dict(zip(("weight", "activation"), layer_counts(model)))
        knobs = []
        for name, kind in KNOBS.items():
            if spec.get(name) is not None:
                knobs.append(_knob(name, kind, spec[name], counts, key))
        for task in of_stage(MODEL_STEP):
            fixed = next((k.name for k in task.knobs if spec.get(k.name) is not None), None)
            if fixed and spec.get(f"{task.name}_tolerance") is not None:
                raise SpaceError(
                    f"{key}.{task.name}_tolerance: the {task.name} task is either fixed ({fixed}) or automatic "
                    f"({task.name}_tolerance), not both"
                )
        if spec.get("activation_bits") is not None and spec.get("weight_bits") is None:
            raise SpaceError(f"{key}.activation_bits: searched activation bits need {key}.weight_bits too")
        wbits = next((k for k in knobs if k.name == "weight_bits"), None)
        if wbits and wbits.layers and spec.get("activation_bits") is None:
            raise SpaceError(
                f"{key}.activation_bits: weight_bits is per layer, so give the activation bits "
                f"explicitly (the model has {counts['activation']} hidden activations)"
            )
        return cls(tuple(knobs))

    @property
    def labels(self) -> list[str]:
        return [label for knob in self.knobs for label in knob.labels]

    def _variables(self) -> list[tuple[str, Knob]]:
        return [(label, knob) for knob in self.knobs for label in knob.labels]

    @property
    def levels(self) -> dict[str, int]:
        """The number of values of each variable (hyperopt's view: one per label)."""
        return {label: len(knob.values) for label, knob in self._variables()}

    @property
    def size(self) -> int:
        return math.prod(len(knob.values) for _, knob in self._variables())

    def hyperopt(self) -> dict:
        """The hyperopt space: each variable is the index of its value."""
        from hyperopt import hp

        out = {}
        for label, knob in self._variables():
            n = len(knob.values)
            out[label] = hp.quniform(label, -0.5, n - 0.5, 1) if knob.ordered else hp.choice(label, list(range(n)))
        return out

    def point(self, vals: dict) -> dict:
        """The point of hyperopt values (``{label: index}``)."""
        point = {}
        for knob in self.knobs:
            n = len(knob.values)
            point[knob.name] = knob.value([min(max(int(round(float(vals[label]))), 0), n - 1) for label in knob.labels])
        return point

    def vals(self, point: dict) -> dict:
        """Inverse of :meth:`point`: hyperopt values as TPE's history holds them."""
        out = {}
        for knob in self.knobs:
            for label, index in zip(knob.labels, knob.indices(point[knob.name])):
                out[label] = float(index) if knob.ordered else int(index)
        return out

    def points(self):
        """Every point of the space (the grid), in a fixed order."""
        variables = self._variables()
        for combo in itertools.product(*(range(len(knob.values)) for _, knob in variables)):
            yield self.point(dict(zip((label for label, _ in variables), combo)))

    def distance(self, a: dict, b: dict) -> float:
        """Between two points: index steps over the range's length for a range, 0 or 1 for choices."""
        total = 0.0
        for knob in self.knobs:
            for i, j in zip(knob.indices(a[knob.name]), knob.indices(b[knob.name])):
                total += abs(i - j) / max(1, len(knob.values) - 1) if knob.ordered else float(i != j)
        return total

    def random_point(self, rng) -> dict:
        return self.point({label: int(rng.integers(len(knob.values))) for label, knob in self._variables()})


def design(config: dict, point: dict) -> Design:
    """The design (a workflow path) of a point of the space."""
    return design_of(config, flow_steps(config, point_flow(point)))


# -- reading the config ------------------------------------------------------------------


def _knob(name: str, kind: KnobKind, spec: dict, counts: dict, space_key: str) -> Knob:
    key = f"{space_key}.{name}"
    layers = 0
    if spec.get("per_layer"):
        if not kind.layers:
            raise SpaceError(f"{key}: per_layer applies to bit widths only")
        layers = counts[kind.layers]
    if "choices" in spec:
        values = [_canonical(v, kind, key) for v in spec["choices"]]
        if len(set(map(repr, values))) != len(values):
            raise SpaceError(f"{key}: choices {spec['choices']} repeat a value")
        if None in values and (kind.none_means is None or layers):
            raise SpaceError(f"{key}: null is not a choice here" + (" (per layer)" if layers else ""))
        return Knob(name, tuple(values), ordered=False, layers=layers)
    low, high = spec["low"], spec["high"]
    step = spec.get("step", 1)
    if high < low:
        raise SpaceError(f"{key}: high {high} is below low {low}")
    if kind.kind is int and not all(float(v).is_integer() for v in (low, high, step)):
        raise SpaceError(f"{key}: low, high and step must be whole numbers")
    count = int(math.floor((high - low) / step + 1e-9)) + 1
    values = [_canonical(low + k * step, kind, key) for k in range(count)]
    if len(set(values)) != len(values):
        raise SpaceError(f"{key}: step {step} is finer than {kind.decimals} decimals")
    return Knob(name, tuple(values), ordered=True, layers=layers)


def _canonical(value, kind: KnobKind, key: str):
    """One spelling per value: a point never gets two directories (0.3 vs 0.30000000000000004)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and kind.layers:  # one choice of widths per layer (designs.grid)
        return tuple(_canonical(v, kind, key) for v in value)
    if kind.kind is float:
        rounded = round(float(value), kind.decimals)
        if abs(rounded - float(value)) > 1e-9:
            raise SpaceError(f"{key}: {value} has more than {kind.decimals} decimals")
        return rounded
    if kind.kind is int:
        return int(value)
    return str(value).lower() if key.endswith("strategy") else str(value)
