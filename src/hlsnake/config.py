"""Configuration: JSON-schema validation with defaults, then the checks a schema cannot
express (files, columns, per-layer list lengths, tools). Every problem is reported with
the config key, file or column it concerns, before any work starts."""

from __future__ import annotations

import copy
import sys
from pathlib import Path, PurePosixPath
from typing import NoReturn

import jsonschema
import numpy as np
import yaml

from . import data, expressions, synth
from .designs import flow_item, parse_design_path
from .flows import compile_config, config_flows
from .modelspec import layer_counts, user_model_problem
from .space import Space, SpaceError

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """Invalid configuration; the message names the key (or file, column) at fault."""


def stop(err: ValueError) -> NoReturn:
    """Stop the workflow on a configuration error: its message, without a traceback."""
    sys.stderr.write(f"hlsnake: configuration error: {err}\n")
    sys.exit(1)


def _key(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _with_defaults(validator_class):
    """A validator that fills in the ``default`` of every property it visits."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _known_properties(schema: dict) -> set:
    """Property names a schema allows, including those of its allOf parts (resolved refs)."""
    names = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        if "$ref" in part:
            part = _SCHEMA_CACHE["schema"]["definitions"][part["$ref"].rsplit("/", 1)[-1]]
        names |= _known_properties(part)
    return names


_SCHEMA_CACHE: dict = {}


def _describe(error: jsonschema.ValidationError) -> str:
    key = _key(error.absolute_path)
    if error.validator == "pattern" and "x-error" in error.schema:  # the schema's own words for this key
        return f"{key}: {error.instance!r} {error.schema['x-error']}"
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        allowed = sorted(_known_properties(error.schema))
        extra = sorted(set(error.instance) - set(allowed))
        where = f" in {key}" if error.absolute_path else ""
        return f"unknown key(s) {', '.join(map(repr, extra))}{where}; expected one of: {', '.join(allowed)}"
    if error.validator in ("oneOf", "anyOf") and error.context:
        # not "is not valid under any of the given schemas": the reason in the alternative that got furthest
        return _describe(max(_alternatives(error), key=lambda e: len(e.absolute_path)))
    return f"{key}: {error.message}"


def _alternatives(error: jsonschema.ValidationError) -> list:
    """The innermost errors of nested oneOf/anyOf alternatives, without the alternatives for
    another type than the value's (their errors only say that they do not apply)."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [error]
    branches: dict = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [
        subs for subs in branches.values() if not any(e.validator == "type" and e.absolute_path == error.absolute_path for e in subs)
    ]
    return [leaf for subs in fitting or branches.values() for sub in subs for leaf in _alternatives(sub)]


def load_schema(path=None) -> dict:
    path = Path(path or SCHEMA_PATH)
    if not path.is_file():
        raise ConfigError(f"config schema {path} not found (run from the hlsnake repository)")
    return yaml.safe_load(path.read_text())


def validate(raw: dict | None, schema_path=None, check_files: bool = True, cores: int = 1) -> dict:
    """Return the config with defaults filled in, or raise :class:`ConfigError`.

    ``search.batch: null`` becomes ``cores`` (the number of cores of the run)."""
    config = copy.deepcopy(dict(raw or {}))
    schema = load_schema(schema_path)
    _SCHEMA_CACHE["schema"] = schema
    _read_cli_scalars(config, schema)
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ConfigError("\n".join(dict.fromkeys(_describe(e) for e in errors)))
    _check_semantics(config, check_files)
    config["search"]["batch"] = config["search"]["batch"] or int(cores)
    return _sorted_keys(config)


def _sorted_keys(value):
    """Every mapping with its keys sorted: the rules pass config sections as params, and
    Snakemake compares params by their text, so the order in which a config file lists
    its keys must not rerun finished stages."""
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(item) for item in value]
    return value


def _read_cli_scalars(config: dict, schema: dict) -> None:
    """Snakemake reads a nested --config value (e.g. --config 'search={budget: 60}') with
    YAML's BaseLoader, so its numbers arrive as strings: read those as YAML where the
    schema asks for a number, boolean or null, not a string."""
    for key, sub in schema.get("properties", {}).items():
        value, types = config.get(key), sub.get("type", "string")
        if isinstance(value, dict):
            _read_cli_scalars(value, sub)
        elif isinstance(value, str) and "string" not in (types if isinstance(types, list) else [types]):
            parsed = yaml.safe_load(value)
            if not isinstance(parsed, str):
                config[key] = parsed


def load(path, overrides: dict | None = None, schema_path=None) -> dict:
    """Read a YAML config file, apply overrides, validate."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from None
    raw.update(overrides or {})
    return validate(raw, schema_path)


# -- checks beyond the schema ---------------------------------------------------------


def _check_semantics(config: dict, check_files: bool) -> None:
    _check_results(config)
    _check_dataset(config, check_files)
    _check_model(config, check_files)
    _check_quantize(config)
    _check_synth(config)  # before the designs: their paths name the synthesis backend
    _check_designs(config)
    _check_search(config)


def _check_synth(config: dict) -> None:
    """Resolve synth.backend 'auto' to the backend that will run (once, here), keeping the
    requested value in synth.requested_backend; fail when that backend cannot run here."""
    synth_cfg = config["synth"]
    synth_cfg["requested_backend"] = synth_cfg.get("requested_backend") or synth_cfg["backend"]
    try:
        synth_cfg["backend"] = synth.vendor.resolve(synth_cfg["backend"], config["hls"]["backend"])
        synth.require_backend(synth_cfg["backend"])
    except synth.BackendUnavailable as err:
        raise ConfigError(str(err)) from None


def _check_search(config: dict) -> None:
    """The search space beyond the schema: decimals, per-layer counts, ranges (space.py)."""
    try:
        Space.from_config(config)
    except SpaceError as err:
        raise ConfigError(str(err)) from None


# directory names with a meaning in result paths: no data set, model or results folder may take them
RESERVED_NAMES = ("train", "data", "search", "grid")


def _check_results(config: dict) -> None:
    results = config["results"]
    parts = PurePosixPath(results).parts
    if PurePosixPath(results).is_absolute() or ".." in parts or set(parts) & set(RESERVED_NAMES):
        raise ConfigError(
            f"results: {results!r} must be a relative path inside the working directory, without '..' "
            f"or the names {', '.join(RESERVED_NAMES)}"
        )
    for key, name in (("model.name", config["model"]["name"]), ("dataset.tag", config["dataset"]["tag"])):
        if name in RESERVED_NAMES:
            raise ConfigError(f"{key}: {name!r} is a reserved directory name ({', '.join(RESERVED_NAMES)}); choose another")


def _check_dataset(config: dict, check_files: bool) -> None:
    ds, model = config["dataset"], config["model"]
    if ds["standardise"] is None:  # a pretrained model file gets the features it was trained on
        ds["standardise"] = not (model["type"] == "keras" and model["pretrained"])
    if ds["test_fraction"] + ds["validation_fraction"] >= 0.8:
        raise ConfigError("dataset.test_fraction + dataset.validation_fraction must leave at least 20% for training")
    if ds["name"] == "file":
        if not ds["path"]:
            raise ConfigError("dataset.path is required when dataset.name is 'file'")
        if not ds["label"]:
            raise ConfigError("dataset.label (the label column) is required when dataset.name is 'file'")
    if model["type"] == "cnn" and ds["name"] == "jets":
        raise ConfigError("model.type: cnn needs image data; the jets data set is 16 features (use model.type: mlp)")
    if model["type"] == "cnn" and ds["name"] == "file" and not ds["image_shape"]:
        raise ConfigError("model.type: cnn needs dataset.image_shape (height, width, channels) for a file data set")
    if check_files and ds["path"]:
        try:
            if ds["name"] == "file":
                data.read_labelled_file(ds["path"], ds["label"])
            else:
                data.read_labelled_file(ds["path"], ds["label"] or data.JET_LABEL, data.JET_FEATURES)
        except data.DataError as err:
            raise ConfigError(f"dataset.path: {err}") from None


def _check_model(config: dict, check_files: bool) -> None:
    """A user's model file (model.type: keras): readable, only supported layers, and an input
    and output that fit the data; checked here, before any job runs."""
    model, ds = config["model"], config["dataset"]
    if model["type"] != "keras":
        return
    if not model["path"]:
        raise ConfigError("model.path is required when model.type is 'keras' (your .h5 or .keras model file)")
    if not check_files:
        return
    if ds["name"] == "jets" and not ds["path"]:  # fetched by its job: 16 features, 5 classes
        n_features, image_shape, n_classes = len(data.JET_FEATURES), None, 5
    else:
        try:
            table = data.load_source(ds)
        except data.DataError as err:
            raise ConfigError(f"dataset: {err}") from None
        n_features, image_shape, n_classes = table.features.shape[1], ds["image_shape"] or table.image_shape, len(np.unique(table.labels))
    problem = user_model_problem(model, n_features, image_shape, n_classes)
    if problem:
        raise ConfigError(problem)


def _check_quantize(config: dict) -> None:
    q = config["quantize"]
    if q["min_bits"] > q["max_bits"]:
        raise ConfigError(f"quantize.min_bits ({q['min_bits']}) must not exceed quantize.max_bits ({q['max_bits']})")


def _check_bits(bits, count: int, key: str) -> None:
    if isinstance(bits, (list, tuple)) and len(bits) != count:
        raise ConfigError(f"{key}: {len(bits)} per-layer widths given, but the model has {count} such layers")


def _check_designs(config: dict) -> None:
    flows = config_flows(config)
    if not flows:
        raise ConfigError("designs: no design to build (set designs.baseline, designs.grid, designs.flows or flow)")
    for i, flow in enumerate(flows):
        _check_flow(flow, f"flow {i + 1}")
    n_weight, n_act = layer_counts(config["model"])
    for flow in flows:
        for task, knobs in _flow_steps(flow):
            if task == "quantize" and "tolerance" in knobs and set(knobs) - {"tolerance"}:
                raise ConfigError(f"quantize {knobs}: either fixed bit widths or a tolerance (automatic), not both")
            if task == "quantize" and knobs and "weight_bits" not in knobs and "tolerance" not in knobs:
                raise ConfigError(f"quantize {knobs}: give weight_bits (activation_bits alone is not enough) or a tolerance")
            if task == "quantize" and "weight_bits" in knobs:
                _check_bits(knobs["weight_bits"], n_weight, "weight_bits")
                _check_bits(knobs.get("activation_bits"), n_act, "activation_bits")
            if task == "hls":
                _check_bits((knobs or {}).get("reuse_factor"), n_weight, "reuse_factor")
    try:
        plan = compile_config(config)
    except (ValueError, KeyError) as err:
        raise ConfigError(f"designs: {err}") from None
    for design in _every_design(plan):
        _check_named_exactly(design)
    for node in plan.reduces.values():
        try:
            expressions.parse(node.objective, "reduce.objective", boolean=False)
        except expressions.ExpressionError as err:
            raise ConfigError(str(err)) from None
    for node in plan.branches.values():
        try:
            expressions.parse(node.when, "branch.when", boolean=True)
        except expressions.ExpressionError as err:
            raise ConfigError(str(err)) from None
        if node.then == "tighten" and not 0 < node.factor < 1:
            raise ConfigError(f"branch.factor: tighten multiplies the tolerance by the factor, so it must be in (0, 1); got {node.factor}")
        if node.then == "raise_reuse" and not node.factor > 1:
            raise ConfigError(f"branch.factor: raise_reuse multiplies the reuse factor by the factor, so it must exceed 1; got {node.factor}")
        if node.then == "tighten":
            tasks = {s.task for s in node.base.steps if "tolerance" in s.params}
            if node.task not in tasks:
                raise ConfigError(
                    f"branch.task: 'tighten' needs the task whose tolerance to tighten, one of the automatic "
                    f"tasks of its flow ({', '.join(sorted(tasks)) or 'none'}); got {node.task!r}"
                )


def _every_design(plan):
    """Every design a plan can build: its designs, the branches of its reduces, and every
    iteration of its branches."""
    yield from (d for d in plan.designs if d.steps[-1].task != "branch")
    for node in plan.reduces.values():
        yield from node.branches
    for node in plan.branches.values():
        yield from (node.iteration(k) for k in range(node.max_iterations + 1))


def _check_named_exactly(design) -> None:
    """A design must read back from its path as itself: a knob that a directory name
    cannot hold exactly (too many decimals) would otherwise run a rounded value."""
    parsed = parse_design_path(design.path)
    for step, back in zip(design.steps, parsed.steps):
        if step != back:
            raise ConfigError(
                f"{step.task} {step.params}: a directory name cannot hold this exactly (it would run as {back.params}); "
                "use at most two decimals for sparsity and width_factor, four for tolerances"
            )


def _flow_steps(flow: list):
    """(task, knobs) of every step of a flow, inside forks too, as written in the config."""
    for item in flow:
        task, knobs = flow_item(item)
        if task == "fork":
            for branch in knobs:
                yield from _flow_steps(branch)
        else:
            yield task, knobs or {}


def _check_flow(flow: list, where: str) -> None:
    """Structure the schema cannot express: order of hls, reduce and branch."""
    tasks = [flow_item(item)[0] for item in flow]
    for i, task in enumerate(tasks):
        if task == "reduce" and (i == 0 or tasks[i - 1] != "fork"):
            raise ConfigError(f"{where}: 'reduce' must come right after a 'fork'")
        if task == "branch" and i != len(tasks) - 1:
            raise ConfigError(f"{where}: 'branch' must be the last step")
        if task == "fork":
            reduced = i + 1 < len(tasks) and tasks[i + 1] == "reduce"
            for branch in flow_item(flow[i])[1]:
                if reduced and "hls" in [flow_item(item)[0] for item in branch]:
                    raise ConfigError(f"{where}: the branches of a reduced fork are model steps; put 'hls' after the reduce")
                _check_flow(branch, where)
    body = [t for t in tasks if t != "branch"]
    if "hls" in body and (body.count("hls") > 1 or body.index("hls") != len(body) - 1):
        raise ConfigError(f"{where}: the hls step must come last (once), before an optional branch")
