from hlsnake import stages

stages.prepare_data(snakemake.params.spec, snakemake.params.seed, snakemake.output[0])
