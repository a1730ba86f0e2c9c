from pathlib import Path

from hlsnake import failures, stages
from hlsnake.designs import parse_design_path

out_dir = Path(snakemake.output.model).parent
step = parse_design_path(str(out_dir)).steps[-1]
failures.run_stage(
    snakemake,
    stages.model_step,
    snakemake.input.data,
    Path(snakemake.input.model).parent,
    out_dir,
    step.task,
    step.params,
    dict(snakemake.params.sections),
    snakemake.params.seed,
    threads=snakemake.threads,
)
