"""The task registry: every step of a design flow is a task, declared once, in one module
of this package.

A task declares

* its path segment: the directory ``<prefix>_<knobs>`` it writes (format and parse, with
  fixed decimals so that one point never gets two directories); an automatic task also
  accepts ``<prefix>_a<tolerance>``: it searches its own knob under that tolerance;
* its runners: the fixed-knob one and the automatic one;
* the config sections its jobs read (the rule passes exactly those, so that a change
  elsewhere reruns nothing);
* its resources (memory, minutes, CPUs on a cluster);
* the knobs it adds to a search space, and the step it takes at a point of that space.

Design paths (:mod:`hlsnake.designs`), the rules' wildcard constraints, the search space
and the summary all read the registry, so adding a task is one module here, its section
in the config schema and its docs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

# what a stage of a task holds: a Keras model the next step builds on, an hls4ml design,
# the hardware numbers of a design, or a control node (see hlsnake.flows)
MODEL_STEP, HLS, SYNTH, CONTROL = "model", "hls", "synth", "control"
TOLERANCE = r"a(?P<tolerance>\d\.\d{4})"
# the training settings of a task section: all that a fixed-knob step reads of it
FIT_KEYS = ("epochs", "batch_size", "learning_rate", "patience", "recovery_epochs")


def fit_settings(section: dict) -> dict:
    return {k: section[k] for k in FIT_KEYS if k in section}


def bits_text(bits) -> str:
    """A width, or one per layer: ``6`` or ``6-4-8``."""
    if isinstance(bits, (list, tuple)):
        return "-".join(str(int(b)) for b in bits)
    return str(int(bits))


def bits_value(text: str):
    parts = [int(p) for p in text.split("-")]
    return parts[0] if len(parts) == 1 else parts


BITS = r"\d+(?:-\d+)*"  # bits_text


@dataclass(frozen=True)
class Resources:
    """What one job of the task needs: memory, minutes (fixed knob / automatic), and the
    CPUs a cluster gives it."""

    mem_mb: int = 4000
    minutes: int = 120
    auto_minutes: int = 600
    cpus: int = 1
    auto_cpus: int = 1


@dataclass(frozen=True)
class KnobKind:
    """A knob the task adds to a search space (config ``search.space.<name>``)."""

    name: str
    kind: type  # float, int or str
    layers: str | None = None  # "weight" / "activation": may be one value per such layer
    none_means: str | None = None  # what a null choice means, when allowed
    decimals: int = 2  # floats: the decimals of their directory names


@dataclass(frozen=True)
class Task:
    name: str  # in flows and the config (``prune``)
    prefix: str  # of its directory (``prune_s0.50``)
    pattern: str  # regex of the fixed-knob part after "<prefix>_", with named groups
    format: Callable[[dict], str]  # knobs -> that part
    parse: Callable[[re.Match], dict]  # its match -> knobs
    stage: str  # MODEL_STEP, HLS, SYNTH or CONTROL
    holds_model: bool = False  # its directory holds the Keras model the next step builds on
    automatic: bool = False  # also runs under a tolerance, named ``<prefix>_a0.0100``
    tolerance_suffix: bool = False  # ... named ``<prefix>_<knobs>_a0.0100`` instead (its knobs stay)
    # the jobs: see hlsnake.stages for what each kind of stage passes and expects back
    run_fixed: Callable | None = None
    run_auto: Callable | None = None
    sections: Callable[[dict, bool], dict] | None = None  # (config, automatic) -> sections its job reads
    resources: Resources = field(default_factory=Resources)
    realised: tuple[str, ...] = ()  # knobs an automatic run chooses, shown in the summary
    knobs: tuple[KnobKind, ...] = ()  # what it adds to a search space
    from_point: Callable[[dict], dict | None] | None = None  # point -> its knobs (None: not in the flow)
    complete: Callable[[dict], dict] = dict  # knobs as written in a flow -> all its knobs

    @property
    def fixed_regex(self) -> str:
        return f"{self.prefix}_{self.pattern}"

    @property
    def auto_regex(self) -> str | None:
        """Its directory in the automatic form: ``<prefix>_a<tolerance>``, or the fixed name
        followed by ``_a<tolerance>`` for a task whose automatic mode keeps its knobs (hls)."""
        if not self.automatic:
            return None
        return f"{self.fixed_regex}_{TOLERANCE}" if self.tolerance_suffix else f"{self.prefix}_{TOLERANCE}"

    @property
    def regex(self) -> str:
        if not self.automatic:
            return self.fixed_regex
        if self.tolerance_suffix:
            return f"{self.fixed_regex}(?:_{TOLERANCE})?"
        return f"{self.prefix}_(?:{self.pattern}|{TOLERANCE})"

    def dirname(self, knobs: dict) -> str:
        knobs = dict(knobs)
        tolerance = knobs.pop("tolerance", None) if self.automatic else None
        if tolerance is None:
            name = f"{self.prefix}_{self.format(knobs)}"
        elif self.tolerance_suffix:
            name = f"{self.prefix}_{self.format(knobs)}_a{float(tolerance):.4f}"
        else:
            name = f"{self.prefix}_a{float(tolerance):.4f}"
        if not re.fullmatch(self.regex, name):  # pragma: no cover - guards the formatters
            raise ValueError(f"{self.name}: cannot encode {knobs!r} as a directory name")
        return name

    def read(self, match: re.Match) -> dict:
        tolerance = match.groupdict().get("tolerance") if self.automatic else None
        if tolerance is None:
            return self.parse(match)
        if self.tolerance_suffix:
            return {**self.parse(match), "tolerance": float(tolerance)}
        return {"tolerance": float(tolerance)}

    def run(self, knobs: dict) -> Callable:
        """The runner for a step with these knobs: the automatic one when they hold a tolerance."""
        return self.run_auto if self.automatic and "tolerance" in knobs else self.run_fixed


def own_section(name: str) -> Callable[[dict, bool], dict]:
    """A task that reads its own config section: whole when automatic (tolerance search
    settings), only the training settings with a fixed knob."""
    return lambda config, auto: {name: config[name] if auto else fit_settings(config[name])}


def model_task(**declaration) -> Task:
    """A model step (a Keras model in, a Keras model out) with a fixed and an automatic mode."""
    return Task(stage=MODEL_STEP, holds_model=True, automatic=True, **declaration)


TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    if task.name in TASKS or any(t.prefix == task.prefix for t in TASKS.values()):
        raise ValueError(f"task {task.name!r} (prefix {task.prefix!r}) is registered twice")
    TASKS[task.name] = task
    return task


def by_prefix(prefix: str) -> Task | None:
    return next((t for t in TASKS.values() if t.prefix == prefix), None)


def of_stage(stage: str) -> list[Task]:
    return [t for t in TASKS.values() if t.stage == stage]
