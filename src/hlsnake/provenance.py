"""What produced a stage, recorded in its metrics: the config sections it read, the seed
of the stage, and the versions of Python, the packages and the tools."""

from __future__ import annotations

import functools
import platform
import subprocess
import zlib
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "hlsnake", "tensorflow", "tf-keras", "qkeras", "tensorflow-model-optimization", "hls4ml", "da4ml",
    "snakemake", "numpy", "scikit-learn", "pandas", "h5py",
)  # fmt: skip


def stage_seed(seed: int, stage_dir) -> int:
    """A seed per stage from the config seed and the stage's path below the results root,
    so that a stage gets the same seed whatever order the jobs run in."""
    parts = Path(stage_dir).parts
    key = "/".join(parts[parts.index("train") - 2 :] if "train" in parts else parts)
    return (int(seed) * 1_000_003 + zlib.crc32(key.encode())) % (2**31 - 1)


@functools.cache
def _environment() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:  # hls4ml builds its bit-accurate C++ model with g++ (its build_lib.sh names g++)
        cxx = subprocess.run(["g++", "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        cxx = None
    return {"packages": versions, "python": platform.python_version(), "platform": platform.platform(), "tools": {"g++": cxx}}


def provenance(config_section: dict | None = None) -> dict:
    """What produced a stage: the resolved config sections it read, and the versions of
    Python, the packages and the C++ compiler."""
    return {**_environment(), "config": config_section or {}}
