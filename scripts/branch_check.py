from hlsnake import stages

stages.branch_check(int(snakemake.wildcards.k), snakemake.params.design, snakemake.params.when, snakemake.output[0])
