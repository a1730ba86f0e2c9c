"""scale: every hidden layer narrower by a width factor, retrained (MetaML's SCALING).

Fixed: ``scale_f0.750``. Automatic: ``scale_a0.0050`` tries the factors 1 - k/8 and keeps
the narrowest within a *relative* accuracy loss (see :func:`hlsnake.scale.auto_scale`).
"""

from __future__ import annotations

from .base import KnobKind, Resources, model_task, own_section, register


def _fixed(parent, split, knobs: dict, sections: dict, out_dir, log):
    from .. import scale, training  # TensorFlow loads in the job, not where the Snakefile reads the registry

    model = scale.scaled_copy(parent, knobs["width_factor"])
    training.fit(model, split, sections["scale"], log=log)
    return model, {"width_factor": knobs["width_factor"], "hidden": scale.hidden_widths(model)}, None


def _auto(parent, split, knobs: dict, sections: dict, out_dir, log):
    from .. import scale

    model, factor, record = scale.auto_scale(parent, split, knobs["tolerance"], sections["scale"], log=log)
    return model, {"width_factor": factor, "hidden": scale.hidden_widths(model)}, record


def _from_point(point: dict) -> dict | None:
    factor = point.get("width_factor")
    return None if factor in (None, 1.0) else {"width_factor": factor}  # 1: no scale step


TASK = register(
    model_task(
        name="scale",
        prefix="scale",
        pattern=r"f(?P<width_factor>\d\.\d{3})",
        format=lambda k: f"f{k['width_factor']:.3f}",
        parse=lambda m: {"width_factor": float(m["width_factor"])},
        run_fixed=_fixed,
        run_auto=_auto,
        sections=own_section("scale"),
        resources=Resources(minutes=120, auto_minutes=600, cpus=2, auto_cpus=2),
        realised=("width_factor", "hidden"),
        knobs=(KnobKind("width_factor", float),),
        from_point=_from_point,
    )
)
