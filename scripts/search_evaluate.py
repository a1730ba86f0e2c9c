# A round's results, and the one line of progress it prints (see src/hlsnake/search.py).
from hlsnake import search, trials

trials.evaluate(snakemake.input.proposals, snakemake.output[0])
print(search.round_progress(snakemake.output[0], int(snakemake.wildcards.round), snakemake.config), flush=True)
