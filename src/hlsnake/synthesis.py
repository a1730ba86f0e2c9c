"""The synthesis stage: the hardware numbers of an hls design from the configured backend
(:mod:`hlsnake.synth`), written to ``resources.json`` with their source."""

from __future__ import annotations

import time
from pathlib import Path

from . import synth
from .artifacts import METRICS_FILE, read_metrics
from .fileio import write_json
from .joblog import announce, log
from .provenance import provenance


def csynth(hls_dir, out_path, backend: str, hls_cfg: dict, synth_cfg: dict, data_path) -> dict:
    """Resources and latency of the design in ``hls_dir`` from the synthesis backend."""
    start, hls_dir, out_path = time.time(), Path(hls_dir), Path(out_path)
    job = synth.SynthJob(
        hls_dir=hls_dir,
        model_dir=hls_dir.parent,
        data_path=Path(data_path),
        out_dir=out_path.parent,
        hls=hls_cfg,
        synth=synth_cfg,
    )
    result = synth.run(backend, job)
    result["seconds"] = time.time() - start
    result["provenance"] = provenance({"hls": hls_cfg, "synth": synth_cfg})
    write_json(out_path, result)
    log(
        f"csynth ({result['source']}): {out_path}: DSP {result['DSP']}, LUT {result['LUT']}, "
        f"latency {result['latency_cycles']} cycles"
    )
    accuracy = read_metrics(hls_dir).get("accuracy") if (hls_dir / METRICS_FILE).is_file() else None
    announce(  # the design is finished: its one line on the terminal
        f"design {out_path.parent}: accuracy {accuracy if accuracy is None else round(accuracy, 4)}, "
        f"DSP {result['DSP']}, LUT {result['LUT']}, FF {result['FF']}, latency {result['latency_cycles']} cycles "
        f"[{result['source']}]"
    )
    return result
