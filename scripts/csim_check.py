# The C simulation of a design that reached a front, against its emulated accuracy.
from pathlib import Path

from hlsnake import failures, stages
from hlsnake.designs import parse_design_path

hls_dir = Path(snakemake.input.hls).parent
failures.run_stage(
    snakemake,
    stages.csim_check,
    snakemake.input.data,
    Path(snakemake.input.model).parent,
    hls_dir,
    snakemake.params.hls,
    parse_design_path(str(hls_dir)).steps[-1].params,
    snakemake.output[0],
)
