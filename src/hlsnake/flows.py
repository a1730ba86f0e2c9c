"""Flows from the config, compiled into designs (paths) and control nodes.

A flow is a list of items run in order:

* ``"prune"`` — a task in its automatic mode (tolerance from ``tolerances``), or
  ``{"prune": {"sparsity": 0.5}}`` with a fixed knob, or ``{"prune": {"tolerance": 0.01}}``;
* ``{"fork": [flow, flow, ...]}`` — alternatives from the same point: each becomes its
  own design, sharing the prefix;
* ``{"reduce": {"objective": "accuracy - 0.5 * DSP / 100"}}`` right after a fork — keep
  the branch with the highest objective (each branch is evaluated through hls and synth)
  and go on from its model: a ``reduce_<node>`` stage;
* ``{"branch": {"when": "DSP > 100", "then": "raise_reuse", ...}}`` last — bottom-up
  feedback: while the predicate holds on the finished design, apply the action
  upstream (tighten a task's tolerance, or raise the reuse factor) and rebuild, at most
  ``max_iterations`` times: a ``branch_<node>`` directory records the iterations and the
  final choice. Every iteration is an ordinary design path, cached like any other.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace

from .designs import Design, Step, design_of, finish, flow_item, make_step
from .space import Space, point_flow


@dataclass(frozen=True)
class ReduceNode:
    node: str
    path: str  # the reduce stage directory
    branches: tuple[Design, ...]  # each branch finished with hls + synth
    objective: str


@dataclass(frozen=True)
class BranchNode:
    node: str
    path: str  # the branch directory (under the first iteration's design)
    base: Design  # iteration 0
    when: str
    then: str  # "tighten" or "raise_reuse"
    task: str | None
    factor: float
    max_iterations: int

    def iteration(self, k: int) -> Design:
        """The design after applying the action ``k`` times."""
        steps = []
        for step in self.base.steps:
            params = step.params
            if self.then == "raise_reuse" and step.task == "hls":
                rf = params["reuse_factor"]
                scaled = [max(1, int(round(r * self.factor**k))) for r in (rf if isinstance(rf, list) else [rf])]
                params["reuse_factor"] = scaled if isinstance(rf, list) else scaled[0]
            elif self.then == "tighten" and step.task == self.task:
                params["tolerance"] = round(params["tolerance"] * self.factor**k, 4)
            steps.append(Step.make(step.task, **params))
        return replace(self.base, steps=tuple(steps))


@dataclass
class Plan:
    designs: list[Design] = field(default_factory=list)
    reduces: dict[str, ReduceNode] = field(default_factory=dict)  # by stage path
    branches: dict[str, BranchNode] = field(default_factory=dict)  # by branch path

    def add(self, design: Design) -> None:
        if design.path not in {d.path for d in self.designs}:
            self.designs.append(design)


def _below_results(design: Design) -> str:
    """A design's path without the results folder: moving the results keeps node ids."""
    return design.path[len(design.results) + 1 :]


def _node_id(*parts) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:8]


def _expand(config: dict, items: list, prefixes: list[list[Step]], plan: Plan) -> list[list[Step]]:
    """All step lists a flow (possibly with forks) yields, from each of ``prefixes``."""
    i = 0
    while i < len(items):
        task, knobs = flow_item(items[i])
        if task == "fork":
            reduce = flow_item(items[i + 1])[1] if i + 1 < len(items) and flow_item(items[i + 1])[0] == "reduce" else None
            grown = []
            for prefix in prefixes:
                alternatives = [steps for flow in knobs for steps in _expand(config, flow, [list(prefix)], plan)]
                if reduce is None:
                    grown.extend(alternatives)
                else:
                    grown.append(prefix + [_reduce_step(config, prefix, alternatives, reduce["objective"], plan)])
            prefixes = grown
            i += 2 if reduce is not None else 1
            continue
        if task == "branch":
            raise ValueError("a branch step must come last in its flow")
        prefixes = [prefix + [make_step(config, task, knobs)] for prefix in prefixes]
        i += 1
    return prefixes


def _reduce_step(config: dict, prefix: list[Step], alternatives: list[list[Step]], objective: str, plan: Plan) -> Step:
    branches = tuple(design_of(config, finish(config, steps)) for steps in alternatives)
    node = _node_id("reduce", [_below_results(b) for b in branches], objective)
    step = Step.make("reduce", node=node)
    path = design_of(config, [*prefix, step]).stage_paths()[-1]
    plan.reduces[path] = ReduceNode(node, path, branches, objective)
    return step


def add_flow(config: dict, flow: list, plan: Plan) -> None:
    """Compile one flow of the config into ``plan``."""
    branch = None
    if flow and flow_item(flow[-1])[0] == "branch":
        branch, flow = flow_item(flow[-1])[1], flow[:-1]
    for steps in _expand(config, list(flow), [[]], plan):
        design = design_of(config, finish(config, steps))
        if branch is None:
            plan.add(design)
            continue
        node = _node_id("branch", _below_results(design), branch)
        final = replace(design, steps=(*design.steps, Step.make("branch", node=node)))
        plan.branches[final.path] = BranchNode(
            node=node,
            path=final.path,
            base=design,
            when=branch["when"],
            then=branch["then"],
            task=branch.get("task"),
            factor=float(branch.get("factor", 0.5 if branch["then"] == "tighten" else 2)),
            max_iterations=int(branch.get("max_iterations", 3)),
        )
        plan.add(final)


def grid_flows(config: dict) -> list[list[dict]]:
    """The flows of ``designs.grid``: every combination of its values, as a point of a search
    space is a flow (prune when sparsity > 0, quantize when bits are given, then hls)."""
    grid = {name: {"choices": values} for name, values in config["designs"]["grid"].items() if values is not None}
    space = Space.from_spec(grid, config["model"], "designs.grid")
    return [point_flow(point) for point in space.points()]


def config_flows(config: dict) -> list[list]:
    """All flows the config asks for: the baseline, the grid, ``flow`` and ``designs.flows``."""
    spec = config["designs"]
    flows: list[list] = []
    if spec.get("baseline", True):
        flows.append([])
    if spec.get("grid"):
        flows.extend(grid_flows(config))
    if config.get("flow"):
        flows.append(config["flow"])
    flows.extend(spec.get("flows") or [])
    return flows


def compile_config(config: dict) -> Plan:
    plan = Plan()
    for flow in config_flows(config):
        add_flow(config, flow, plan)
    return plan


def config_designs(config: dict) -> list[Design]:
    """Every design of the config, without duplicates, in a stable order."""
    return compile_config(config).designs

