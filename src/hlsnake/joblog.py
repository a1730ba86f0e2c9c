"""Where a job's output goes: everything (TensorFlow, hls4ml, g++, tools, the stage's own
progress) into the job's log file, one line per finished design onto the terminal.

TensorFlow's C++ runtime and the tools write to the file descriptors, not to Python's
``sys.stdout``, so the job's descriptors 1 and 2 are pointed at the log; the terminal
keeps a descriptor of its own for :func:`announce`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Iterator

_terminal: int | None = None  # the job's stderr before it went to the log


def log(message: str) -> None:
    """A line of the stage's progress (into the job's log when the job has one)."""
    print(message, flush=True)


def announce(message: str) -> None:
    """One line onto the terminal, also when the job's output goes to its log."""
    log(message)
    if _terminal is not None:
        os.write(_terminal, (message + "\n").encode())


@contextlib.contextmanager
def redirected(path) -> Iterator[None]:
    """Send this process's stdout and stderr (Python's and the descriptors) to ``path``
    (appended), and back when the block ends."""
    global _terminal
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    outer = _terminal
    if outer is None:  # the outermost redirection keeps the terminal
        _terminal = os.dup(2)
    with open(path, "a") as target:
        os.dup2(target.fileno(), 1)
        os.dup2(target.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            if outer is None:
                os.close(_terminal)
                _terminal = None
