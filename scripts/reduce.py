from pathlib import Path

from hlsnake import stages

stages.reduce(snakemake.params.branches, snakemake.params.objective, Path(snakemake.output.model).parent)
