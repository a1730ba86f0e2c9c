from pathlib import Path

from hlsnake import stages

stages.csynth(
    Path(snakemake.input.layers).parent,
    snakemake.output[0],
    snakemake.wildcards.backend,
    snakemake.params.hls,
    snakemake.params.synth,
    snakemake.input.data,
)
