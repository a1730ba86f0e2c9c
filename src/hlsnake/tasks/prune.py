"""prune: magnitude pruning (tensorflow-model-optimization) to a sparsity, fine-tuned.

Fixed: ``prune_s0.50``. Automatic: ``prune_a0.0200`` bisects the sparsity within an
*absolute* accuracy drop (MetaML's PRUNING, :func:`hlsnake.prune.auto_prune`).
"""

from __future__ import annotations

from .base import KnobKind, Resources, model_task, own_section, register


def _fixed(parent, split, knobs: dict, sections: dict, out_dir, log):
    from .. import prune  # TensorFlow loads in the job, not where the Snakefile reads the registry

    model, _ = prune.prune(parent, split, knobs["sparsity"], sections["prune"], log=log)
    return model, {"sparsity": knobs["sparsity"]}, None


def _auto(parent, split, knobs: dict, sections: dict, out_dir, log):
    from .. import prune

    model, sparsity, record = prune.auto_prune(parent, split, knobs["tolerance"], sections["prune"], log=log)
    return model, {"sparsity": sparsity}, record


TASK = register(
    model_task(
        name="prune",
        prefix="prune",
        pattern=r"s(?P<sparsity>0\.\d{2})",
        format=lambda k: f"s{k['sparsity']:.2f}",
        parse=lambda m: {"sparsity": float(m["sparsity"])},
        run_fixed=_fixed,
        run_auto=_auto,
        sections=own_section("prune"),
        resources=Resources(minutes=120, auto_minutes=600, cpus=2, auto_cpus=2),
        realised=("sparsity",),
        knobs=(KnobKind("sparsity", float),),
        from_point=lambda point: {"sparsity": point["sparsity"]} if point.get("sparsity") else None,  # 0: no prune step
    )
)
