from pathlib import Path

from hlsnake import stages

stages.prune(
    snakemake.input.data,
    Path(snakemake.input.model).parent,
    Path(snakemake.output.model).parent,
    float(snakemake.wildcards.sparsity),
    snakemake.params.fit,
    snakemake.params.seed,
)
