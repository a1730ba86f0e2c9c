from pathlib import Path

from hlsnake import failures, stages

failures.run_stage(
    snakemake,
    stages.csynth,
    Path(snakemake.input.layers).parent,
    snakemake.output[0],
    snakemake.wildcards.backend,
    snakemake.params.hls,
    snakemake.params.synth,
    snakemake.input.data,
)
