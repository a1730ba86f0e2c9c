"""Designs as paths: a design flow is an ordered list of steps, and its path is the
nesting of one directory per step, each named by the step's own parameters.

    results/digits/mlp/train/prune_s0.50/quant_w6_a6/hls_rf1_latency_parallel/synth_estimate

Every stage is cached by its inputs, designs that share a prefix share its work, and
the order of the tasks is visible in the path. This module is the single place that
formats and parses step directory names (floats with a fixed number of decimals, so
that one point never gets two directories).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Callable

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]*"


def _bits_text(bits) -> str:
    if isinstance(bits, (list, tuple)):
        return "-".join(str(int(b)) for b in bits)
    return str(int(bits))


def _bits_value(text: str):
    parts = [int(p) for p in text.split("-")]
    return parts[0] if len(parts) == 1 else parts


TOLERANCE = r"a(?P<tolerance>\d\.\d{4})"


@dataclass(frozen=True)
class StepKind:
    """How one task names its output directory: ``<prefix>_<encoded knobs>``.

    A task with an automatic mode (``automatic=True``) also accepts the knob
    ``tolerance``, encoded as ``a0.0100``: the task searches its own knob under that
    accuracy tolerance.
    """

    task: str
    prefix: str
    pattern: str  # regex of the fixed-knob part after "<prefix>_", with named groups
    format: Callable[[dict], str]
    parse: Callable[[re.Match], dict]
    model_stage: bool  # True: the stage outputs a Keras model that later steps build on
    automatic: bool = False

    def dirname(self, knobs: dict) -> str:
        if self.automatic and "tolerance" in knobs:
            name = f"{self.prefix}_a{float(knobs['tolerance']):.4f}"
        else:
            name = f"{self.prefix}_{self.format(knobs)}"
        if not re.fullmatch(self.regex, name):  # pragma: no cover - guards the formatters
            raise ValueError(f"{self.task}: cannot encode {knobs!r} as a directory name")
        return name

    def read(self, match: re.Match) -> dict:
        if self.automatic and match["tolerance"] is not None:
            return {"tolerance": float(match["tolerance"])}
        return self.parse(match)

    @property
    def regex(self) -> str:
        body = f"(?:{self.pattern}|{TOLERANCE})" if self.automatic else self.pattern
        return f"{self.prefix}_{body}"


STRATEGIES = ("latency", "resource")
IO_TYPES = {"io_parallel": "parallel", "io_stream": "stream"}
_IO_BY_SHORT = {v: k for k, v in IO_TYPES.items()}
NODE = r"(?P<node>[0-9a-f]{8})"

def _control_kind(task: str, model_stage: bool) -> StepKind:
    """A control task's directory is named by its node id (a hash of its definition)."""
    return StepKind(task, task, NODE, lambda k: k["node"], lambda m: {"node": m["node"]}, model_stage)


STEP_KINDS: dict[str, StepKind] = {
    kind.task: kind
    for kind in (
        StepKind(
            task="scale",
            prefix="scale",
            pattern=r"f(?P<width_factor>\d\.\d{3})",
            format=lambda k: f"f{k['width_factor']:.3f}",
            parse=lambda m: {"width_factor": float(m["width_factor"])},
            model_stage=True,
            automatic=True,
        ),
        StepKind(
            task="prune",
            prefix="prune",
            pattern=r"s(?P<sparsity>0\.\d{2})",
            format=lambda k: f"s{k['sparsity']:.2f}",
            parse=lambda m: {"sparsity": float(m["sparsity"])},
            model_stage=True,
            automatic=True,
        ),
        StepKind(
            task="quantize",
            prefix="quant",
            pattern=r"w(?P<weight_bits>\d+(?:-\d+)*)_a(?P<activation_bits>\d+(?:-\d+)*)",
            format=lambda k: f"w{_bits_text(k['weight_bits'])}_a{_bits_text(k['activation_bits'])}",
            parse=lambda m: {
                "weight_bits": _bits_value(m["weight_bits"]),
                "activation_bits": _bits_value(m["activation_bits"]),
            },
            model_stage=True,
            automatic=True,
        ),
        # keeps the best branch of a fork (the node id names the fork, see flows.py)
        _control_kind("reduce", model_stage=True),
        StepKind(
            task="hls",
            prefix="hls",
            # rf4 or rf4-2-1 (per Dense/Conv layer); _a0.0100: data types narrowed under a tolerance
            pattern=(
                r"rf(?P<reuse_factor>\d+(?:-\d+)*)_(?P<strategy>latency|resource)_(?P<io>parallel|stream)"
                r"(?:_a(?P<hls_tolerance>\d\.\d{4}))?"
            ),
            format=lambda k: (
                f"rf{_bits_text(k['reuse_factor'])}_{k['strategy'].lower()}_{IO_TYPES[k['io_type']]}"
                + (f"_a{float(k['tolerance']):.4f}" if "tolerance" in k else "")
            ),
            parse=lambda m: {
                "reuse_factor": _bits_value(m["reuse_factor"]),
                "strategy": m["strategy"],
                "io_type": _IO_BY_SHORT[m["io"]],
                **({"tolerance": float(m["hls_tolerance"])} if m["hls_tolerance"] else {}),
            },
            model_stage=False,
        ),
        # a feedback loop over a finished design (see flows.py): the path of its final choice
        _control_kind("branch", model_stage=False),
        StepKind(
            task="synth",
            prefix="synth",
            pattern=r"(?P<backend>[a-z0-9]+)",
            format=lambda k: k["backend"],
            parse=lambda m: {"backend": m["backend"]},
            model_stage=False,
        ),
    )
}
_KIND_BY_PREFIX = {kind.prefix: kind for kind in STEP_KINDS.values()}
MODEL_TASKS = tuple(t for t, k in STEP_KINDS.items() if k.model_stage)


def _canonical(value):
    """One spelling per point: a per-layer list whose entries are all equal is the
    uniform value (so [6, 6, 6] and 6 share a directory); lists become tuples."""
    if isinstance(value, (list, tuple)):
        return value[0] if len(set(value)) == 1 else tuple(value)
    return value


@dataclass(frozen=True)
class Step:
    task: str
    knobs: tuple  # sorted (key, value) pairs; hashable

    @classmethod
    def make(cls, task: str, **knobs) -> "Step":
        return cls(task, tuple(sorted((k, _canonical(v)) for k, v in knobs.items())))

    @property
    def params(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.knobs}

    @property
    def dirname(self) -> str:
        return STEP_KINDS[self.task].dirname(self.params)


@dataclass(frozen=True)
class Design:
    """One design: where its data and model come from, and its ordered steps."""

    results: str
    dataset: str
    model: str
    steps: tuple[Step, ...]

    @property
    def root(self) -> str:
        return f"{self.results}/{self.dataset}/{self.model}"

    @property
    def path(self) -> str:
        return "/".join([self.root, "train", *(s.dirname for s in self.steps)])

    def stage_paths(self) -> list[str]:
        """The directory of every stage of this design, upstream first."""
        parts = [self.root, "train"]
        out = ["/".join(parts)]
        for step in self.steps:
            parts.append(step.dirname)
            out.append("/".join(parts))
        return out

    @property
    def hls_path(self) -> str:
        return self.stage_paths()[self._hls_index + 1]

    @property
    def model_path(self) -> str:
        """The last stage that holds a Keras model (the one the hls step converts)."""
        return self.stage_paths()[self._hls_index]

    @property
    def model_stage_paths(self) -> list[str]:
        """The stages that hold a Keras model, from train to :attr:`model_path`."""
        return self.stage_paths()[: self._hls_index + 1]

    @property
    def _hls_index(self) -> int:
        return [s.task for s in self.steps].index("hls")

    @property
    def label(self) -> str:
        """Short name for plots: the model steps, e.g. ``prune_s0.50 quant_w4_a4``."""
        names = [s.dirname for s in self.steps if STEP_KINDS[s.task].model_stage]
        return " ".join(names) or "float"

    def params(self) -> dict:
        """Flat parameters of the design for tables: the knobs of every step."""
        flat: dict = {"flow": ">".join(s.task for s in self.steps if s.task not in ("hls", "synth"))}
        for step in self.steps:
            for key, value in step.params.items():
                if key in ("tolerance", "node"):  # every automatic/control task has one: say whose
                    key = f"{step.task}_{key}"
                flat[key] = "-".join(map(str, value)) if isinstance(value, list) else value
        return flat


def parse_design_path(path: str) -> Design:
    """Inverse of :attr:`Design.path`: read a design back from its directory."""
    parts = PurePosixPath(path).parts
    try:
        train_at = parts.index("train")
    except ValueError:
        raise ValueError(f"not a design path (no 'train' stage): {path}") from None
    if train_at < 3:
        raise ValueError(f"not a design path (expected <results>/<dataset>/<model>/train/...): {path}")
    steps = []
    for name in parts[train_at + 1 :]:
        prefix = name.split("_", 1)[0]
        kind = _KIND_BY_PREFIX.get(prefix)
        match = re.fullmatch(kind.regex, name) if kind else None
        if not match:
            raise ValueError(f"unknown stage directory {name!r} in {path}")
        steps.append(Step.make(kind.task, **kind.read(match)))
    return Design(
        results=str(PurePosixPath(*parts[: train_at - 2])),
        dataset=parts[train_at - 2],
        model=parts[train_at - 1],
        steps=tuple(steps),
    )


def _plain(regex: str) -> str:
    """Without named groups: Snakemake adds its own around wildcard constraints."""
    return re.sub(r"\(\?P<\w+>", "(?:", regex)


def model_stage_regex(results: str) -> str:
    """Regex for a directory holding a Keras model: the train stage or a model step after it."""
    kinds = "|".join(STEP_KINDS[t].regex for t in MODEL_TASKS)
    return _plain(rf"{re.escape(results)}/{NAME_PATTERN}/{NAME_PATTERN}/train(?:/(?:{kinds}))*")


def hls_stage_regex(results: str) -> str:
    """Regex for an hls stage directory (a model stage followed by an hls step)."""
    return model_stage_regex(results) + "/" + _plain(STEP_KINDS["hls"].regex)


def synth_stage_regex(results: str) -> str:
    """Regex for a finished design's directory (an hls stage followed by a synth step)."""
    return hls_stage_regex(results) + "/" + _plain(STEP_KINDS["synth"].regex)


# -- steps from the config --------------------------------------------------------------

AUTOMATIC_TASKS = tuple(t for t, k in STEP_KINDS.items() if k.automatic)


def hls_step(config: dict, **override) -> Step:
    """An hls step: the config's hls defaults, with the knobs given."""
    hls = config["hls"]
    knobs = {"reuse_factor": hls["reuse_factor"], "strategy": hls["strategy"], "io_type": hls["io_type"]}
    knobs.update(override)
    knobs["strategy"] = knobs["strategy"].lower()
    return Step.make("hls", **knobs)


def make_step(config: dict, task: str, knobs: dict | None) -> Step:
    """One step of a flow. A bare task name (no knobs) runs the task in its automatic
    mode with the tolerance from ``tolerances``; ``{tolerance: x}`` sets it explicitly."""
    knobs = dict(knobs or {})
    if task == "hls":
        if not knobs and config["tolerances"].get("hls") is not None:
            knobs = {"tolerance": config["tolerances"]["hls"]}
        return hls_step(config, **knobs)
    if task in AUTOMATIC_TASKS and not knobs:
        knobs = {"tolerance": config["tolerances"][task]}
    if task == "quantize" and "weight_bits" in knobs:
        knobs.setdefault("activation_bits", knobs["weight_bits"])
    return Step.make(task, **knobs)


def finish(config: dict, steps: list[Step]) -> tuple[Step, ...]:
    """Every design ends with an hls step (config defaults when absent) and a synth step."""
    steps = list(steps)
    if not any(s.task == "hls" for s in steps):
        steps.append(hls_step(config))
    steps.append(Step.make("synth", backend=config["synth"]["backend"]))
    return tuple(steps)


def flow_item(item) -> tuple[str, dict | None]:
    """``"prune"`` or ``{"prune": {...}}`` -> (task, knobs)."""
    if isinstance(item, str):
        return item, None
    (task, knobs), = item.items()
    return task, knobs


def flow_steps(config: dict, flow: list) -> tuple[Step, ...]:
    """The steps of a linear flow (no fork/reduce/branch), finished with hls and synth."""
    return finish(config, [make_step(config, *flow_item(item)) for item in flow])


def design_of(config: dict, steps) -> Design:
    return Design(results=config["results"], dataset=dataset_tag(config), model=config["model"]["name"], steps=tuple(steps))


def dataset_tag(config: dict) -> str:
    ds = config["dataset"]
    return ds.get("tag") or ds["name"]
