# One round's proposals (search) or the whole space (grid); see src/hlsnake/search.py.
from hlsnake import search

if snakemake.rule == "grid_propose":
    search.grid_proposals(snakemake.config, snakemake.output[0])
else:
    search.propose_round(list(snakemake.input), snakemake.output[0], int(snakemake.wildcards.round), snakemake.config)
