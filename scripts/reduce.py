from pathlib import Path

from hlsnake import failures, stages

failures.run_recorded(
    snakemake, stages.reduce, snakemake.params.branches, snakemake.params.objective, Path(snakemake.output.model).parent
)
