from hlsnake import trials

trials.evaluate(snakemake.input.proposals, snakemake.output[0])
