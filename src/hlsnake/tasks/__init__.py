"""Every task of a design flow, registered in :data:`TASKS` (see :mod:`.base`); this is
the one place that imports them all, in flow order."""

from . import scale, prune, quantize  # noqa: F401  (model steps, in their default order)
from . import control, hls, synth  # noqa: F401
from .base import CONTROL, HLS, MODEL_STEP, SYNTH, TASKS, KnobKind, Task, by_prefix, fit_settings, of_stage

__all__ = ["CONTROL", "HLS", "MODEL_STEP", "SYNTH", "TASKS", "KnobKind", "Task", "by_prefix", "fit_settings", "of_stage"]
