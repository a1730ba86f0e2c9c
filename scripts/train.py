from pathlib import Path

from hlsnake import stages

stages.train(
    snakemake.input.data,
    Path(snakemake.output.model).parent,
    snakemake.params.model,
    snakemake.params.fit,
    snakemake.params.seed,
    threads=snakemake.threads,
)
