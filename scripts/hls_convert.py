from pathlib import Path

from hlsnake import failures, stages
from hlsnake.designs import parse_design_path

out_dir = Path(snakemake.output.metrics).parent
failures.run_stage(
    snakemake,
    stages.hls_convert,
    snakemake.input.data,
    Path(snakemake.input.model).parent,
    out_dir,
    snakemake.params.hls,
    parse_design_path(str(out_dir)).steps[-1].params,
)
