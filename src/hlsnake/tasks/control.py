"""The control tasks of a flow (see :mod:`hlsnake.flows`): ``reduce`` keeps the best branch
of a fork, ``branch`` is bottom-up feedback over a finished design. Their directories are
named by a node id, a hash of their definition; their jobs are in :mod:`hlsnake.stages`."""

from __future__ import annotations

from .base import CONTROL, Task, register

NODE = r"(?P<node>[0-9a-f]{8})"


def _control(name: str, holds_model: bool) -> Task:
    return Task(name, name, NODE, lambda k: k["node"], lambda m: {"node": m["node"]}, CONTROL, holds_model=holds_model)


REDUCE = register(_control("reduce", holds_model=True))  # its directory holds the chosen branch's model
BRANCH = register(_control("branch", holds_model=False))  # the path of its final choice
