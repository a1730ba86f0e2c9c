"""Designs as paths: a design flow is an ordered list of steps, and its path is the
nesting of one directory per step, each named by the step's own parameters.

    results/digits/mlp/train/prune_s0.50/quant_w6_a6/hls_rf1_latency_parallel/synth_estimate

Every stage is cached by its inputs, designs that share a prefix share its work, and
the order of the tasks is visible in the path. Each task declares how its own directory
is named (:mod:`hlsnake.tasks`); this module composes them into paths and reads paths back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from .tasks import HLS, MODEL_STEP, SYNTH, TASKS, by_prefix, of_stage

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
MODEL_TASKS = tuple(t.name for t in TASKS.values() if t.holds_model)


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
        return TASKS[self.task].dirname(self.params)


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
        names = [s.dirname for s in self.steps if TASKS[s.task].holds_model]
        return " ".join(names) or "float"

    def params(self) -> dict:
        """Flat parameters of the design for tables: the knobs of every step."""
        flat: dict = {"flow": ">".join(s.task for s in self.steps if TASKS[s.task].stage not in (HLS, SYNTH))}
        for step in self.steps:
            for key, value in step.params.items():
                if key in ("tolerance", "node"):  # every automatic/control task has one: say whose
                    key = f"{step.task}_{key}"
                flat[key] = "-".join(map(str, value)) if isinstance(value, list) else value
        return flat


def read_step(name: str) -> Step | None:
    """The step whose directory is ``name`` (None when no task names a directory so)."""
    task = by_prefix(name.split("_", 1)[0])
    match = re.fullmatch(task.regex, name) if task else None
    return Step.make(task.name, **task.read(match)) if match else None


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
        step = read_step(name)
        if step is None:
            raise ValueError(f"unknown stage directory {name!r} in {path}")
        steps.append(step)
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
    kinds = "|".join(TASKS[t].regex for t in MODEL_TASKS)
    return _plain(rf"{re.escape(results)}/{NAME_PATTERN}/{NAME_PATTERN}/train(?:/(?:{kinds}))*")


def hls_stage_regex(results: str) -> str:
    """Regex for an hls stage directory (a model stage followed by an hls step)."""
    return model_stage_regex(results) + "/" + _plain(TASKS["hls"].regex)


def synth_stage_regex(results: str) -> str:
    """Regex for a finished design's directory (an hls stage followed by a synth step)."""
    return hls_stage_regex(results) + "/" + _plain(TASKS["synth"].regex)


def step_regex(task: str) -> str:
    """Regex of the directory of a step of ``task``, in any of its forms."""
    return _plain(TASKS[task].regex)


def segment_regex(stage: str, automatic: bool) -> str:
    """Regex of the directory of a step of any task of ``stage`` (``MODEL_STEP``, ``HLS``),
    in its fixed or its automatic form: the wildcard constraint of the rule that builds it."""
    forms = [t.auto_regex if automatic else t.fixed_regex for t in of_stage(stage) if t.automatic or not automatic]
    return _plain("|".join(f"(?:{form})" for form in forms))


# -- steps from the config --------------------------------------------------------------

AUTOMATIC_TASKS = tuple(t.name for t in of_stage(MODEL_STEP) if t.automatic)


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
    return Step.make(task, **TASKS[task].complete(knobs))


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
