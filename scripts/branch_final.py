from hlsnake import stages

stages.branch_final(list(snakemake.input), snakemake.params.max_iterations, snakemake.output[0])
